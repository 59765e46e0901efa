"""The fast path on the tiny model: attention backend choice, hot-swapped adapters, VAE tiling."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
import torch

from tailor.engine.adapters import AdapterCache
from tailor.engine.generation import Generator, ImageRequest
from tailor.engine.speed import SpeedSettingError, attention_backend
from tailor.store.blob_base import BlobStore

SP = json.dumps({"short_description": "a small red house by a lake at sunset"})
A, B = "adapters/A.safetensors", "adapters/B.safetensors"


def req(adapter: str | None = None, influence: float = 1.0) -> ImageRequest:
    return ImageRequest(SP, 7, steps=3, adapter_key=adapter, influence=influence)


def test_attention_backend_choice() -> None:
    assert attention_backend("auto", "cpu") == "native"
    assert attention_backend("sdpa", "cuda:0") == "native"
    with pytest.raises(SpeedSettingError, match="not an attention backend"):
        attention_backend("fastest", "cuda")
    try:
        import flash_attn  # noqa: F401
    except ImportError:
        with pytest.raises(SpeedSettingError, match="flash-attn"):
            attention_backend("flash", "cuda")


def test_hot_swapped_adapters_render_as_loaded_ones_without_new_modules(
    make_generator: Callable[..., Generator], blobs: BlobStore
) -> None:
    plain = make_generator(adapter_cache_size=2)
    expected = {k: plain.generate(req(k)) for k in (A, B, None)}
    half = plain.generate(req(B, influence=0.5))

    gen = make_generator()
    gen.pipe.enable_lora_hotswap(target_rank=8)
    gen.loaded("fibo").adapters = AdapterCache(gen.pipe, 4, fetch=blobs.get, hotswap=True)
    assert gen.generate(req(A)) == expected[A]
    modules = [n for n, _ in gen.pipe.transformer.named_modules()]
    assert gen.generate(req(B)) == expected[B]  # B's weights swapped into A's slot
    assert gen.generate(req(None)) == expected[None]
    assert gen.generate(req(A)) == expected[A]
    assert [n for n, _ in gen.pipe.transformer.named_modules()] == modules  # nothing to recompile
    # the influence is written into the slot's scaling tensors: no Python float for a compiled
    # graph to specialise on (benchmarks/compile_swap.py counts the recompilations)
    assert gen.generate(req(B, influence=0.5)) == half
    scalings = [m.scaling["tailor_hotswap"] for m in gen.pipe.transformer.modules() if hasattr(m, "scaling")]
    assert scalings and all(isinstance(v, torch.Tensor) for v in scalings)
    assert gen.generate(req(None)) == expected[None]  # the slot at scale 0 adds nothing
    assert gen.adapters.loads == 4 and gen.adapters.capacity == 1  # A, B, A, B: one slot


def test_large_outputs_decode_tiled(make_generator: Callable[..., Generator]) -> None:
    gen = make_generator(vae_tiling_pixels=0)
    gen.generate(req())
    assert gen.pipe.vae.use_tiling
    gen = make_generator()
    gen.generate(req())
    assert not gen.pipe.vae.use_tiling
