"""Fixtures for training tests: fresh tiny pipelines and fast training settings (the tiny model
itself, ``tiny_dir``, comes from tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tailor.config import Settings
from tests.conftest import make_settings


@pytest.fixture
def fresh_pipe(tiny_dir: Path) -> Callable[[], object]:
    """A new tiny pipeline each call (training adds LoRA layers in place)."""

    def make() -> object:
        import torch
        from diffusers import BriaFiboPipeline

        torch.set_num_threads(1)
        pipe = BriaFiboPipeline.from_pretrained(tiny_dir)
        pipe.set_progress_bar_config(disable=True)
        return pipe

    return make


@pytest.fixture
def settings(tmp_path: Path, db_url: str, tiny_dir: Path) -> Settings:
    """Tiny model, short runs: 8 steps, a checkpoint every 4, 2-step samples, no retry delay."""
    return make_settings(
        tmp_path / "home",
        db_url,
        base_model=str(tiny_dir),
        device="cpu",
        training_max_steps=8,
        training_checkpoint_interval=4,
        training_grad_accumulation=1,
        training_gradient_checkpointing=False,
        training_sample_steps=2,
        job_retry_backoff_s=0.0,
    )
