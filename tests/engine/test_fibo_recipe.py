"""FIBO's recipe: prompts serialised as FIBO's own code does, LoRA targets, optimizer, buckets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import ujson

from tailor.bridge.prompts import validate_structured_prompt
from tailor.domain.errors import InvalidInput
from tailor.engine import fibo_recipe as recipe

BRIA_PROMPT = {
    "short_description": "A café sign reading “Ouvert” / open, on a red door",
    "objects": [
        {
            "description": "a wooden sign",
            "location": "center",
            "relationship": "hangs on the door",
            "relative_size": "",
            "number_of_objects": 1,
        }
    ],
    "background_setting": "a street in Paris — 1920s",
    "lighting": {"conditions": "golden hour", "direction": "side-lit", "shadows": None},
    "aesthetics": {
        "composition": "centered",
        "color_scheme": 'warm reds\tand "gold"',
        "mood_atmosphere": "inviting 😊",
        "preference_score": "very high",
        "aesthetic_score": "high",
    },
    "style_medium": "photograph",
    "context": "a travel brochure at https://example.com/a/b",
    "artistic_style": "realistic",
    "text_render": [],
}


def test_compact_json_is_ujson_byte_for_byte() -> None:
    values = [
        BRIA_PROMPT,
        {"a": "x/y\\z", "b": "\u0000\u001f\u007f\u0080\u2028 é 中 😊", "c": [1, -2, 0, True, False, None]},
        {"nested": {"deep": [[{}], []], "quote": '"', "newline": "a\nb\r\n"}},
    ]
    for value in values:
        assert recipe.compact_json(value) == ujson.dumps(value, escape_forward_slashes=False)


def test_training_captions_are_re_serialised_compactly_keeping_every_key() -> None:
    text = json.dumps(BRIA_PROMPT, indent=2, ensure_ascii=False)
    out = recipe.training_caption(text)
    assert out == ujson.dumps(json.loads(text), escape_forward_slashes=False)
    assert '", "' not in out and '": "' not in out
    assert list(json.loads(out)) == list(BRIA_PROMPT)  # order kept, empty values kept
    assert json.loads(out)["aesthetics"]["aesthetic_score"] == "high"
    with pytest.raises(ValueError, match="must be JSON"):
        recipe.training_caption("a red square")


def test_inference_prompts_follow_the_reference_inference() -> None:
    prompt = {k: v for k, v in BRIA_PROMPT.items()}
    prompt["aesthetics"] = {"composition": "centered", "color_scheme": "", "mood_atmosphere": "calm"}
    prompt["unknown_field"] = "dropped"
    out = recipe.inference_prompt(json.dumps(prompt))
    expected = (
        '{"short_description":"A caf\\u00e9 sign reading \\u201cOuvert\\u201d / open, on a red door",'
        '"objects":[{"description":"a wooden sign","location":"center","relationship":"hangs on the door",'
        '"number_of_objects":1}],'
        '"background_setting":"a street in Paris \\u2014 1920s",'
        '"lighting":{"conditions":"golden hour","direction":"side-lit"},'
        '"aesthetics":{"composition":"centered","mood_atmosphere":"calm",'
        '"preference_score":"very high","aesthetic_score":"very high"},'
        '"style_medium":"photograph",'
        '"context":"a travel brochure at https://example.com/a/b",'
        '"artistic_style":"realistic"}'
    )
    assert out == expected
    # no aesthetics at all: the scores' object is appended, as the reference does
    bare = recipe.inference_prompt(json.dumps({"style_medium": "photograph", "short_description": "x"}))
    assert bare == (
        '{"short_description":"x","style_medium":"photograph",'
        '"aesthetics":{"preference_score":"very high","aesthetic_score":"very high"}}'
    )
    # a score the prompt states is kept (deliberate: the caller asked for it)
    assert (
        json.loads(recipe.inference_prompt(json.dumps(BRIA_PROMPT)))["aesthetics"]["aesthetic_score"]
        == "high"
    )
    # negative prompts: compact, nothing added; plain text passes through
    assert recipe.negative_prompt('{"style_medium": "digital illustration"}') == (
        '{"style_medium":"digital illustration"}'
    )
    assert recipe.negative_prompt("blurry") == "blurry"


def test_validation_keeps_the_aesthetics_scores() -> None:
    out = json.loads(validate_structured_prompt(json.dumps(BRIA_PROMPT), field="prompt"))
    assert out["aesthetics"]["preference_score"] == "very high"
    assert out["aesthetics"]["aesthetic_score"] == "high"
    assert list(out["aesthetics"])[-2:] == ["preference_score", "aesthetic_score"]
    bad = {**BRIA_PROMPT, "aesthetics": {**BRIA_PROMPT["aesthetics"], "aesthetic_score": 7.5}}
    with pytest.raises(InvalidInput, match="aesthetics.aesthetic_score"):
        validate_structured_prompt(json.dumps(bad), field="prompt")


# Bria-AI/FIBO src/fine_tuning (lora_utils.add_lora): the modules its LoRA trains.
REFERENCE_TARGETS = {
    "attn.to_k",
    "attn.to_q",
    "attn.to_v",
    "attn.to_out.0",
    "attn.add_k_proj",
    "attn.add_q_proj",
    "attn.add_v_proj",
    "attn.to_add_out",
    "ff.net.0.proj",
    "ff.net.2",
    "ff_context.net.0.proj",
    "ff_context.net.2",
    "proj_mlp",
    "norm1_context.linear",
    "norm1.linear",
    "norm.linear",
    "proj_out",
}


def test_lora_targets_and_optimizer_are_the_reference_ones(tiny_dir: Path) -> None:
    import torch
    from diffusers import BriaFiboPipeline

    from tailor.engine.training.trainer import TARGET_MODULES, TrainConfig

    assert set(TARGET_MODULES) == REFERENCE_TARGETS and len(TARGET_MODULES) == len(REFERENCE_TARGETS)
    cfg = TrainConfig()
    assert (cfg.weight_decay, cfg.adam_eps, cfg.adam_betas, cfg.max_grad_norm) == (
        1e-4,
        1e-15,
        (0.9, 0.999),
        1.0,
    )

    from peft import LoraConfig

    transformer = BriaFiboPipeline.from_pretrained(tiny_dir).transformer
    transformer.add_adapter(LoraConfig(r=4, lora_alpha=4, target_modules=TARGET_MODULES))
    wrapped = {n.removesuffix(".lora_A") for n, _ in transformer.named_modules() if n.endswith(".lora_A")}
    for suffix in ("norm1.linear", "norm1_context.linear", "norm.linear", "attn.to_q", "ff.net.2"):
        assert any(n.endswith(suffix) for n in wrapped), suffix
    assert all(any(n.endswith(t) for t in REFERENCE_TARGETS) for n in wrapped)
    assert all(p.dtype == torch.float32 for p in transformer.parameters())


def test_training_resolutions_and_resize() -> None:
    assert recipe.training_resolution(1000, 1500) == (832, 1248)
    assert recipe.training_resolution(1600, 1000) == (1280, 800)
    for w, h in recipe.TINY_TRAINING_RESOLUTIONS.values():
        assert w % 16 == 0 and h % 16 == 0 and 64 <= w <= 192 and 64 <= h <= 192
    assert recipe.cover_size(2000, 1000, (1344, 768)) == (1536, 768)
    assert recipe.cover_size(1000, 1000, (832, 1248)) == (1248, 1248)
    assert recipe.RESIZE_FILTER == "bilinear" and recipe.VAE_ENCODE_DTYPE == "float32"
