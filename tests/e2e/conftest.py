"""End-to-end fixtures: settings for short runs on the tiny model (``tiny_dir``, tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tailor.config import Settings
from tests.conftest import make_settings


@pytest.fixture
def settings(tmp_path: Path, db_url: str, tiny_dir: Path) -> Settings:
    return make_settings(
        tmp_path / "home",
        db_url,
        base_model=str(tiny_dir),
        device="cpu",
        max_steps=4,
        training_max_steps=8,
        training_checkpoint_interval=4,
        training_grad_accumulation=1,
        training_gradient_checkpointing=False,
        training_sample_steps=2,
        job_retry_backoff_s=0.0,
    )
