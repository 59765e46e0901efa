"""The tiny model: FIBO's architecture, saved once, loaded through ``from_pretrained``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tailor.config import Settings
from tailor.engine import tiny
from tailor.engine.pipeline import BaseModelUnavailable, is_tiny, load_pipeline


def test_saved_tiny_model_loads_through_from_pretrained(tiny_dir: Path) -> None:
    from diffusers import AutoencoderKLWan, BriaFiboPipeline
    from diffusers.models.transformers.transformer_bria_fibo import BriaFiboTransformer2DModel
    from transformers import PreTrainedTokenizerFast, SmolLM3ForCausalLM

    index = json.loads((tiny_dir / "model_index.json").read_text())
    assert index["_class_name"] == "BriaFiboPipeline"
    pipe = BriaFiboPipeline.from_pretrained(tiny_dir)
    assert isinstance(pipe.transformer, BriaFiboTransformer2DModel)
    assert isinstance(pipe.vae, AutoencoderKLWan)
    assert isinstance(pipe.text_encoder, SmolLM3ForCausalLM)
    assert isinstance(pipe.tokenizer, PreTrainedTokenizerFast)
    # the pipeline encodes empty prompts as id 128000: the embedding must hold it
    assert pipe.text_encoder.get_input_embeddings().num_embeddings > 128000
    hidden = pipe.text_encoder.config.hidden_size
    assert pipe.transformer.config.joint_attention_dim == 2 * hidden
    assert pipe.transformer.config.text_encoder_dim == hidden
    assert pipe.transformer.config.in_channels == pipe.vae.config.z_dim
    assert sum(pipe.transformer.config.axes_dims_rope) == pipe.transformer.config.attention_head_dim


def test_ensure_tiny_model_builds_once(tiny_dir: Path) -> None:
    before = (tiny_dir / "model_index.json").stat().st_mtime_ns
    assert tiny.ensure_tiny_model(tiny_dir.parent) == tiny_dir
    assert (tiny_dir / "model_index.json").stat().st_mtime_ns == before
    assert not [p for p in tiny_dir.parent.iterdir() if p.name.startswith(f".{tiny.TINY_NAME}-")]


def test_tiny_builds_are_identical(tmp_path: Path, tiny_dir: Path) -> None:
    other = tiny.ensure_tiny_model(tmp_path / "models")
    for name in ("transformer", "vae", "text_encoder"):
        a = sorted((tiny_dir / name).glob("*.safetensors"))
        b = sorted((other / name).glob("*.safetensors"))
        assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]
    assert (tiny_dir / "tokenizer" / "tokenizer.json").read_bytes() == (
        other / "tokenizer" / "tokenizer.json"
    ).read_bytes()


def test_load_pipeline_from_local_dir_generates_with_empty_negative_prompt(tiny_dir: Path) -> None:
    import torch

    settings = Settings(base_model=str(tiny_dir), device="cpu")
    assert is_tiny(settings)
    pipe = load_pipeline(settings)
    assert pipe.transformer.dtype == torch.float32
    out = pipe(
        prompt='{"short_description": "a cat"}',
        negative_prompt="",
        width=64,
        height=96,
        num_inference_steps=2,
        generator=torch.Generator().manual_seed(0),
    )
    assert out.images[0].size == (64, 96)


def test_missing_local_dir_says_what_to_set(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, base_model=str(tmp_path / "no-such-model"))
    with pytest.raises(BaseModelUnavailable) as e:
        load_pipeline(settings)
    assert "TAILOR_BASE_MODEL" in str(e.value)
    assert "no-such-model" in str(e.value)


def test_unreachable_hub_id_says_what_to_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    settings = Settings(home=tmp_path, base_model="briaai/FIBO")
    with pytest.raises(BaseModelUnavailable) as e:
        load_pipeline(settings)
    message = str(e.value)
    assert "HF_TOKEN" in message
    assert "CC BY-NC 4.0" in message
    assert "TAILOR_BASE_MODEL" in message
