"""Data-parallel training: 2 processes (gloo, CPU) reach the weights of 1 with the same global batch."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from tailor.engine.training.data import Example, Item, build_examples
from tailor.engine.training.trainer import TrainConfig, Trainer
from tests.engine.training.helpers import caption, red_images

CONFIG = TrainConfig(
    rank=4,
    learning_rate=1e-3,
    lr_scheduler="constant",
    warmup_steps=0,
    total_steps=3,
    checkpoint_interval=3,
    grad_accumulation=4,
    gradient_checkpointing=False,
)


def _worker(rank: int, world: int, init: str, tiny_dir: str, examples: list[Example], out: str) -> None:
    import torch.distributed as dist
    from diffusers import BriaFiboPipeline

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=world)
    try:
        pipe = BriaFiboPipeline.from_pretrained(tiny_dir)
        trainer = Trainer(pipe, examples, CONFIG, device="cpu")
        trainer.run()
        if rank == 0:
            torch.save({"lora": trainer.lora_state(), "loss": trainer.last_loss}, out)
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_two_processes_reach_the_weights_of_one(fresh_pipe: Callable, tiny_dir: Path, tmp_path: Path) -> None:
    import torch.multiprocessing as mp

    pipe = fresh_pipe()
    items = [Item(data, caption(i)) for i, data in enumerate(red_images(4))]
    examples = build_examples(pipe, items, tmp_path / "cache", "tiny-test", tiny=True)
    single = Trainer(pipe, examples, CONFIG, device="cpu")
    single.run()

    out = tmp_path / "dp.pt"
    init = f"file://{tmp_path / 'rendezvous'}"
    # fork: the children inherit the imported libraries (spawning would import torch and diffusers again)
    mp.start_processes(
        _worker, args=(2, init, str(tiny_dir), examples, str(out)), nprocs=2, join=True, start_method="fork"
    )
    dp = torch.load(out, weights_only=False)
    ref = single.lora_state()
    assert dp["lora"].keys() == ref.keys()
    for k, v in ref.items():
        torch.testing.assert_close(dp["lora"][k], v, rtol=1e-5, atol=1e-6)
    assert any(v.abs().sum() > 0 for k, v in ref.items() if "lora_B" in k)  # it did train
    assert dp["loss"] == pytest.approx(single.last_loss, rel=1e-5)
