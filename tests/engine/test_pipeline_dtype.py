"""The base model loads in the dtype asked for, and Tailor requires a diffusers that honours it."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
import torch

from tailor.engine.pipeline import BaseModelUnavailable, check_dtype, load_pipeline
from tests.conftest import make_settings

ROOT = Path(__file__).resolve().parents[2]


def _release(text: str) -> tuple[int, ...]:
    parts = [int(p) for p in re.findall(r"\d+", text)[:3]]
    return tuple(parts + [0] * (3 - len(parts)))


def test_the_diffusers_pin_is_what_the_code_needs() -> None:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["ml"]
    pin = next(d for d in deps if d.startswith("diffusers"))
    floor = _release(pin.split(">=")[1])
    assert floor >= (0, 40, 0), pin  # from_pretrained(dtype=...) is honoured from 0.40
    assert _release(version("diffusers")) >= floor


def test_the_model_loads_in_the_dtype_asked_for(tmp_path: Path, tiny_dir: Path) -> None:
    settings = make_settings(tmp_path, "sqlite://", base_model=str(tiny_dir), device="cpu", dtype="bfloat16")
    pipe = load_pipeline(settings)
    for name in ("transformer", "text_encoder", "vae"):
        component = getattr(pipe, name)
        assert component.dtype == torch.bfloat16, name
        assert all(p.dtype == torch.bfloat16 for p in component.parameters()), name
    # a pipeline that did not load as asked is refused, naming the version it needs
    with pytest.raises(BaseModelUnavailable, match=r"diffusers>=0\.40"):
        check_dtype(pipe, torch.float16)
