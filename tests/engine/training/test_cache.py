"""The training cache: latents always, text states within a byte budget, streamed, cleaned."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from tailor.engine.training.data import (
    CacheReport,
    Item,
    build_examples,
    prune_cache,
    text_state_bytes,
)
from tailor.engine.training.trainer import ResumeMismatch, TrainConfig, Trainer, check_schedule, read_state
from tests.engine.training.helpers import caption, red_images


def _config(**kw: object) -> TrainConfig:
    values: dict = dict(
        rank=4,
        learning_rate=1e-3,
        lr_scheduler="constant",
        warmup_steps=0,
        total_steps=3,
        checkpoint_interval=3,
        grad_accumulation=2,
        gradient_checkpointing=False,
    )
    values.update(kw)
    return TrainConfig(**values)


def test_text_states_are_cached_within_the_budget_and_recomputed_alike(
    fresh_pipe: Callable, tmp_path: Path
) -> None:
    pipe = fresh_pipe()
    images = red_images(4)
    fetched: list[int] = []

    def items() -> list[Item]:
        def fetch(i: int) -> Callable[[], bytes]:
            return lambda: fetched.append(i) or images[i]  # type: ignore[func-returns-value]

        return [Item(fetch(i), caption(i), hashlib.sha256(images[i]).hexdigest()) for i in range(4)]

    from tailor.engine.fibo_recipe import training_caption

    per_caption = [text_state_bytes(pipe, training_caption(caption(i))) for i in range(4)]
    budget = per_caption[0] + per_caption[1] + per_caption[2] // 2
    report = CacheReport()
    limited = build_examples(
        pipe, items(), tmp_path / "a", "tiny-test", tiny=True, text_budget=budget, report=report
    )
    assert [e.text_path is not None for e in limited] == [True, True, False, False]
    on_disk = sum(p.stat().st_size for p in (tmp_path / "a").rglob("text/*.safetensors"))
    assert on_disk <= budget and report.text_bytes == on_disk
    assert (report.text_cached, report.text_recomputed, report.images) == (2, 2, 4)
    for estimate, ex in zip(report.estimated_text_bytes, limited[:2], strict=False):
        assert 0 <= estimate - ex.text_path.stat().st_size <= 1024  # type: ignore[union-attr]
    assert report.bytes_per_image > 0
    assert sorted(fetched) == [0, 1, 2, 3]  # each image fetched once, one at a time

    # streamed: with the latents cached, no image is fetched again
    fetched.clear()
    build_examples(pipe, items(), tmp_path / "a", "tiny-test", tiny=True, text_budget=budget)
    assert fetched == []

    # recomputing a text state gives the very values the cache holds: same losses either way
    full = build_examples(pipe, items(), tmp_path / "b", "tiny-test", tiny=True, text_budget=None)
    assert all(e.text_path is not None for e in full)
    losses: list[list[float]] = []
    for ex in (limited, full):
        trainer = Trainer(fresh_pipe(), ex, _config(), device="cpu")
        losses.append([])
        trainer.run(on_step=lambda step, loss, sps: losses[-1].append(loss))
    assert losses[0] == losses[1]


def test_caches_of_deleted_datasets_and_replaced_models_are_removed(
    fresh_pipe: Callable, tmp_path: Path
) -> None:
    pipe = fresh_pipe()
    root = tmp_path / "training"
    item = [Item(red_images(1)[0], caption(0))]
    build_examples(pipe, item, root / "7", "model-one", tiny=True)
    build_examples(pipe, item, root / "8", "model-one", tiny=True)
    assert len(list((root / "7").iterdir())) == 1
    # the base model changes: dataset 7's cache of the old model goes
    build_examples(pipe, item, root / "7", "model-two", tiny=True)
    assert len(list((root / "7").iterdir())) == 1
    assert len(list((root / "7").rglob("*.safetensors"))) == 2
    # dataset 8 is deleted: its directory goes at the next prune
    assert prune_cache(root, {"7"}) == ["8"]
    assert sorted(p.name for p in root.iterdir()) == ["7"]


def test_resume_refuses_a_changed_schedule(fresh_pipe: Callable, tmp_path: Path) -> None:
    pipe = fresh_pipe()
    ex = build_examples(pipe, [Item(red_images(1)[0], caption(0))], tmp_path, "t", tiny=True)
    trainer = Trainer(pipe, ex, _config(total_steps=1), device="cpu")
    trainer.run()
    state = tmp_path / "state.pt"
    trainer.save_state(state)
    other = Trainer(fresh_pipe(), ex, _config(total_steps=1, grad_accumulation=4, seed=3), device="cpu")
    with pytest.raises(ResumeMismatch, match=r"grad_accumulation: checkpoint 2, this run 4.*seed"):
        other.load_state(state)
    same = Trainer(fresh_pipe(), ex, _config(total_steps=1), device="cpu")
    assert same.load_state(state) == 1 and same.resume_note is None
    # the number of data-parallel processes is recorded, and another one is adapted to explicitly
    recorded = read_state(state)["schedule"]
    assert recorded["world_size"] == 1
    note = check_schedule(_config(total_steps=1), recorded, world=2)
    assert note is not None and "made by 1 training process(es), this run has 2" in note
    with pytest.raises(ResumeMismatch, match="seed: checkpoint 10, this run 3") as refused:
        check_schedule(_config(total_steps=1, seed=3), recorded, world=2)
    assert "world_size" not in str(refused.value)
    assert torch.equal(
        same.lora_state()[next(iter(same.lora_state()))],
        trainer.lora_state()[next(iter(trainer.lora_state()))],
    )
