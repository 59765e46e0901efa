"""The trainer on the tiny model: it learns, it resumes exactly, its steps use only cached data."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from tailor.engine.training.data import Item, bucket_for, build_examples
from tailor.engine.training.schedule import SCHEDULERS, data_order, sample_sigmas, step_generator
from tailor.engine.training.trainer import TrainConfig, Trainer
from tests.engine.training.helpers import caption, red_images

CAPTION = caption(0)


def examples(pipe: object, cache: Path, n: int = 6) -> list:
    items = [Item(data, caption(i)) for i, data in enumerate(red_images(n))]
    return build_examples(pipe, items, cache, "tiny-test", tiny=True)


def generated_latents(pipe, seeds=(0, 1, 2)) -> torch.Tensor:  # type: ignore[no-untyped-def]
    out = []
    for seed in seeds:
        lat = pipe(
            prompt=CAPTION,
            width=128,
            height=128,
            num_inference_steps=8,
            guidance_scale=5.0,
            generator=torch.Generator().manual_seed(seed),
            output_type="latent",
        ).images
        out.append(lat[0])
    return torch.stack(out)  # [seeds, tokens, channels]


def test_training_lowers_the_loss_and_moves_generations_toward_the_dataset(
    fresh_pipe: Callable, tmp_path: Path
) -> None:
    """The tiny model's VAE has random weights, so it renders every colour as a similar grey: the
    dataset's colour is measured where the transformer works, in the VAE's latent space (the values
    the decoder turns into colour), against the base model's generations for the same prompt."""
    pipe = fresh_pipe()
    ex = examples(pipe, tmp_path)
    data = torch.stack([e.load()[0] for e in ex]).mean(0)  # [C, h, w]
    target = data.permute(1, 2, 0).reshape(-1, data.shape[0])  # packed like the pipeline's latents
    base = ((generated_latents(pipe) - target) ** 2).mean().item()

    cfg = TrainConfig(
        rank=16,
        learning_rate=3e-3,
        lr_scheduler="constant",
        warmup_steps=0,
        total_steps=150,
        checkpoint_interval=1000,
        grad_accumulation=1,
        gradient_checkpointing=False,
    )
    trainer = Trainer(pipe, ex, cfg, device="cpu")
    losses: list[float] = []
    trainer.run(on_step=lambda step, loss, sps: losses.append(loss))
    assert len(losses) == 150
    assert sum(losses[-20:]) / 20 < 0.7 * sum(losses[:20]) / 20

    trainer.transformer.eval()
    trained = ((generated_latents(pipe) - target) ** 2).mean().item()
    assert trained < 0.6 * base, (base, trained)


def _config(**kw: object) -> TrainConfig:
    values: dict = dict(
        rank=4,
        learning_rate=1e-3,
        lr_scheduler="constant_with_warmup",
        warmup_steps=2,
        total_steps=9,
        checkpoint_interval=3,
        grad_accumulation=2,
        gradient_checkpointing=True,
    )
    values.update(kw)
    return TrainConfig(**values)


def test_a_resumed_run_reaches_the_same_weights(fresh_pipe: Callable, tmp_path: Path) -> None:
    pipe = fresh_pipe()
    ex = examples(pipe, tmp_path)
    full = Trainer(pipe, ex, _config(), device="cpu")
    states: dict[int, Path] = {}

    def keep(step: int, loss: float) -> None:
        states[step] = tmp_path / f"state-{step}.pt"
        full.save_state(states[step])

    full.run(on_checkpoint=keep)
    assert sorted(states) == [3, 6, 9]
    final = full.lora_state()

    resumed = Trainer(fresh_pipe(), ex, _config(), device="cpu")
    assert resumed.load_state(states[6].read_bytes()) == 6
    resumed.run()
    again = resumed.lora_state()
    assert final.keys() == again.keys()
    for k in final:
        assert torch.equal(final[k], again[k]), k
    # and the run did learn something: the adapter is not its zero-initialised B any more
    assert any(k.endswith("lora_B.weight") and final[k].abs().sum() > 0 for k in final)


def test_a_training_step_never_runs_the_vae_or_the_text_encoder(fresh_pipe: Callable, tmp_path: Path) -> None:
    pipe = fresh_pipe()
    ex = examples(pipe, tmp_path)
    pipe.vae = None  # type: ignore[attr-defined]
    pipe.text_encoder = None  # type: ignore[attr-defined]
    trainer = Trainer(pipe, ex, _config(total_steps=2), device="cpu")
    trainer.run()
    assert trainer.step == 2 and trainer.last_loss is not None


def test_the_cache_is_reused_and_keyed_by_content(fresh_pipe: Callable, tmp_path: Path) -> None:
    pipe = fresh_pipe()
    first = examples(pipe, tmp_path)
    files = sorted(p for p in tmp_path.rglob("*.safetensors"))
    assert len(files) == 12  # 6 latents + 6 captions
    stamps = {p: p.stat().st_mtime_ns for p in files}
    second = examples(pipe, tmp_path)
    assert [e.latents_path for e in first] == [e.latents_path for e in second]
    assert {p: p.stat().st_mtime_ns for p in files} == stamps
    other = build_examples(pipe, [Item(red_images(1)[0], "{}")], tmp_path, "tiny-test", tiny=True)
    assert other[0].latents_path == first[0].latents_path  # same image, same latents
    assert other[0].text_path not in {e.text_path for e in first}  # new caption, new entry


def test_buckets_follow_fibo_resolutions() -> None:
    assert bucket_for(64, 64, tiny=True) == (128, 128)
    assert bucket_for(2000, 1000, tiny=False) == (1344, 768)
    assert bucket_for(900, 1200, tiny=False) == (880, 1168)
    assert bucket_for(1024, 1024, tiny=False) == (1024, 1024)


def test_random_draws_depend_only_on_seed_and_step() -> None:
    a = sample_sigmas(step_generator(10, 5), 64, 4096)
    b = sample_sigmas(step_generator(10, 5), 64, 4096)
    c = sample_sigmas(step_generator(10, 6), 64, 4096)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert ((a > 0) & (a < 1)).all()
    # larger images are noised more: the logit-normal's mean shifts up with the token count
    big = sample_sigmas(step_generator(1, 1), 20000, 4096).median()
    small = sample_sigmas(step_generator(1, 1), 20000, 256).median()
    assert big > small
    assert sorted(data_order(10, 3, 6)) == list(range(6)) and data_order(10, 3, 6) == data_order(10, 3, 6)


@pytest.mark.parametrize("name", SCHEDULERS)
def test_every_scheduler_trains(fresh_pipe: Callable, tmp_path: Path, name: str) -> None:
    pipe = fresh_pipe()
    trainer = Trainer(
        pipe,
        examples(pipe, tmp_path, n=2),
        _config(lr_scheduler=name, total_steps=4, grad_accumulation=1),
        device="cpu",
    )
    lrs = []
    trainer.run(on_step=lambda s, loss, sps: lrs.append(trainer.optimizer.param_groups[0]["lr"]))
    assert len(lrs) == 4 and all(lr >= 0 for lr in lrs)
    if name == "constant":
        assert lrs == [1e-3] * 4
    if name == "constant_with_warmup":
        assert lrs[0] < lrs[1] == lrs[3] == 1e-3
    if name in ("linear", "cosine", "polynomial"):
        assert lrs[-1] < lrs[1]


def test_adapter_file_is_diffusers_format_with_its_config(fresh_pipe: Callable, tmp_path: Path) -> None:
    from safetensors import safe_open

    pipe = fresh_pipe()
    trainer = Trainer(pipe, examples(pipe, tmp_path, n=2), _config(total_steps=1, rank=8), device="cpu")
    trainer.run()
    path = trainer.save_adapter(tmp_path / "out")
    with safe_open(str(path), framework="pt") as f:
        keys = list(f.keys())
        meta = json.loads(f.metadata()["lora_adapter_metadata"])
    assert keys and all(k.startswith("transformer.") for k in keys)
    assert any(".attn.to_q.lora_A.weight" in k for k in keys)
    assert any(".ff.net.2.lora_B.weight" in k for k in keys)
    assert meta["transformer.r"] == 8 and meta["transformer.lora_alpha"] == 8  # diffusers prefixes them
    assert json.loads(Path(str(path) + ".json").read_text())["r"] == 8
