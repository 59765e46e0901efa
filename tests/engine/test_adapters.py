"""Adapters on the tiny model: influence, switching, eviction, determinism."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from tailor.engine.adapters import adapter_name, cache_identity
from tailor.engine.generation import Generator, ImageRequest
from tailor.store.blob_base import BlobStore

SP = json.dumps({"short_description": "a small red house by a lake at sunset"})
A, B, C = (f"adapters/{n}.safetensors" for n in "ABC")


def req(adapter: str | None = None, influence: float = 1.0, seed: int = 7, **kw: object) -> ImageRequest:
    return ImageRequest(SP, seed, steps=20, adapter_key=adapter, influence=influence, **kw)  # type: ignore[arg-type]


def test_png_is_the_requested_size(make_generator: Callable[..., Generator]) -> None:
    gen = make_generator()
    png = gen.generate(req(aspect_ratio="16:9"))
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    assert image.size == (176, 96)
    assert not image.info  # no metadata chunks (no timestamps)


def test_influence_zero_is_the_base_image_and_one_differs(make_generator: Callable[..., Generator]) -> None:
    gen = make_generator()
    base = gen.generate(req())
    assert gen.generate(req(A, influence=0.0)) == base
    full = gen.generate(req(A, influence=1.0))
    assert full != base
    assert gen.generate(req(A, influence=1.5)) not in (base, full)
    # back to no adapter: LoRA layers are off, the base image returns
    assert gen.generate(req()) == base


def test_switching_adapters_reproduces_each_image(make_generator: Callable[..., Generator]) -> None:
    gen = make_generator(adapter_cache_size=2)
    a1 = gen.generate(req(A))
    b = gen.generate(req(B))
    a2 = gen.generate(req(A))
    assert a1 == a2
    assert a1 != b
    assert gen.adapters.loads == 2 and gen.adapters.evictions == 0


def test_evicted_adapter_reloads_correctly(make_generator: Callable[..., Generator]) -> None:
    gen = make_generator(adapter_cache_size=1)
    a1 = gen.generate(req(A))
    b = gen.generate(req(B))
    assert gen.adapters.loaded_keys == [B]
    a2 = gen.generate(req(A))
    assert gen.adapters.evictions == 2
    assert a1 == a2 and a1 != b
    assert gen.pipe.get_list_adapters()["transformer"] == [adapter_name(cache_identity(A, None))]


def test_lru_keeps_the_recently_used(make_generator: Callable[..., Generator]) -> None:
    gen = make_generator(adapter_cache_size=2)
    for key in (A, B, A, C):
        gen.generate(req(key))
    assert gen.adapters.loaded_keys == [A, C]


def test_same_inputs_give_identical_bytes_across_pipelines(make_generator: Callable[..., Generator]) -> None:
    first = make_generator().generate(req(B, influence=0.8, seed=123, negative_prompt="blurry"))
    second = make_generator().generate(req(B, influence=0.8, seed=123, negative_prompt="blurry"))
    assert first == second
    assert make_generator().generate(req(B, influence=0.8, seed=124, negative_prompt="blurry")) != first


def test_sidecar_config_is_used_when_the_file_has_none(
    make_generator: Callable[..., Generator], blobs: BlobStore, tiny_dir: Path, tmp_path: Path
) -> None:
    from safetensors import safe_open
    from safetensors.torch import load, save

    from tests.engine.lora_helpers import make_adapter

    original = make_adapter(tiny_dir, seed=5, rank=4, alpha=8)  # alpha != rank: the scale is 2
    blobs.put("adapters/full.safetensors", original)
    path = tmp_path / "a.safetensors"
    path.write_bytes(original)
    with safe_open(str(path), framework="pt") as f:
        stored = json.loads(f.metadata()["lora_adapter_metadata"])
    config = {k.removeprefix("transformer."): v for k, v in stored.items()}  # a plain LoraConfig dict
    bare = save(load(original), metadata={"format": "pt"})
    blobs.put("adapters/bare.safetensors", bare)
    blobs.put("adapters/sidecar.safetensors", bare)
    blobs.put("adapters/sidecar.safetensors.json", json.dumps(config).encode())
    gen = make_generator(adapter_cache_size=3)
    expected = gen.generate(req("adapters/full.safetensors"))
    assert gen.generate(req("adapters/sidecar.safetensors")) == expected
    assert gen.generate(req("adapters/bare.safetensors")) != expected  # alpha lost without the sidecar


def test_a_stopped_generation_leaves_the_generator_usable(make_generator: Callable[..., Generator]) -> None:
    gen = make_generator()
    expected = gen.generate(req(A))
    seen: list[tuple[int, int]] = []

    class Stop(Exception):
        pass

    def on_step(step: int, total: int) -> None:
        seen.append((step, total))
        if step == 2:
            raise Stop

    try:
        gen.generate(req(B), on_step=on_step)
    except Stop:
        pass
    else:
        raise AssertionError("the generation was not stopped")
    assert seen == [(1, 3), (2, 3)]  # max_steps=3 in these settings
    assert not gen.lock.locked()
    assert gen.generate(req(A)) == expected


def test_the_cache_answers_for_content_not_for_a_key(
    make_generator: Callable[..., Generator], blobs: BlobStore, adapter_files: dict[str, bytes]
) -> None:
    """A key whose bytes changed is never served from the entry loaded from the old bytes."""
    import hashlib

    key = "models/9/1-x/adapter.safetensors"
    sha = {n: hashlib.sha256(d).hexdigest() for n, d in adapter_files.items()}
    gen = make_generator(adapter_cache_size=2)
    blobs.put(key, adapter_files["A"])
    first = gen.generate(req(key, adapter_sha256=sha["A"]))
    assert first == gen.generate(req(A))  # the same bytes as adapter A
    assert gen.adapters.loads == 2
    blobs.put(key, adapter_files["B"])
    second = gen.generate(req(key, adapter_sha256=sha["B"]))
    assert second != first
    assert second == make_generator().generate(req(B))
    assert gen.adapters.loads == 3


def test_prune_unloads_adapters_no_record_serves(make_generator: Callable[..., Generator]) -> None:
    gen = make_generator(adapter_cache_size=3)
    base = gen.generate(req())
    with_a = gen.generate(req(A))
    gen.generate(req(B))
    assert gen.prune_adapters(lambda keys: {k for k in keys if k == B}) == 1
    assert gen.adapters.loaded_keys == [B]
    assert len(gen.pipe.get_list_adapters()["transformer"]) == 1
    assert gen.generate(req()) == base
    assert gen.generate(req(A)) == with_a  # loads again from its file when asked again
