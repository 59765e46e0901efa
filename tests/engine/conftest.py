"""Engine fixtures: adapters made with peft on the tiny model (``tiny_dir``, tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tailor.config import Settings
from tailor.engine.generation import Generator
from tailor.store.blob_base import BlobStore
from tailor.store.blobs import open_blob_store
from tests.engine.lora_helpers import make_adapter


@pytest.fixture(scope="session")
def adapter_files(tiny_dir: Path) -> dict[str, bytes]:
    """Three different adapters (A, B, C) as diffusers LoRA safetensors files."""
    return {name: make_adapter(tiny_dir, seed) for name, seed in (("A", 1), ("B", 2), ("C", 3))}


@pytest.fixture
def blobs(tmp_path: Path, adapter_files: dict[str, bytes]) -> BlobStore:
    store = open_blob_store(f"file://{tmp_path / 'blobs'}")
    for name, data in adapter_files.items():
        store.put(f"adapters/{name}.safetensors", data)
    return store


def engine_settings(tmp_path: Path, tiny_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "home": tmp_path / "home",
        "base_model": str(tiny_dir),
        "device": "cpu",
        "max_steps": 3,
        "adapter_cache_size": 2,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def make_generator(tmp_path: Path, tiny_dir: Path, blobs: BlobStore) -> Iterator[object]:
    def make(**overrides: object) -> Generator:
        return Generator(engine_settings(tmp_path, tiny_dir, **overrides), blobs)

    yield make
