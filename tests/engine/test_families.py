"""Base-model families: their declarations agree with each other and with the pipelines; which
weights each family loads (TAILOR_BASE_MODELS, TAILOR_FIBO2_TURBO)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tailor.config import Settings
from tailor.domain.families import FAMILY_SPECS
from tailor.engine.families import FAMILIES, get_family
from tailor.engine.pipeline import BaseModelUnavailable, is_tiny, serves_turbo, weights_name


def test_every_family_is_declared_once_with_consistent_values() -> None:
    assert set(FAMILIES) == set(FAMILY_SPECS) == {"fibo", "fibo-2"}
    for family in FAMILIES.values():
        assert family.spec is FAMILY_SPECS[family.name]
        assert set(family.sizes) == set(family.tiny_sizes)
        for w, h in [*family.sizes.values(), *family.tiny_sizes.values()]:
            assert w % 16 == 0 and h % 16 == 0
        for turbo in (False, True):
            s = family.serving_for(turbo)
            assert s.steps_range[0] <= s.default_steps <= s.steps_range[1]
            assert s.guidance_range[0] <= s.default_guidance <= s.guidance_range[1]
        assert family.lora_targets and family.licence and family.tiny_name
    with pytest.raises(KeyError, match="fibo, fibo-2"):
        get_family("max")


def test_fibo_keeps_its_values() -> None:
    fibo = get_family("fibo")
    s = fibo.serving
    assert (s.default_steps, s.default_guidance, s.steps_range, s.guidance_range) == (
        50,
        5.0,
        (20, 50),
        (3.0, 5.0),
    )
    assert fibo.size_for("16:9", tiny=False) == (1344, 768) and fibo.max_sequence_length == 3000
    assert fibo.max_edit_images == 0 and get_family(None) is fibo


def test_fibo2_serialises_captions_as_its_pipeline_does() -> None:
    caption = {
        "short_description": "a red square",
        "objects": [],
        "aesthetics": {"mood_atmosphere": "calm", "aesthetic_score": "high", "composition": ""},
        "lighting": {},
        "style_medium": "flat colour",
    }
    text = get_family("fibo-2").serialise_caption(json.dumps(caption, indent=2))
    assert text == (
        '{"short_description":"a red square","aesthetics":{"mood_atmosphere":"calm"},'
        '"style_medium":"flat colour"}'
    )
    assert get_family("fibo-2").serialise_caption("just words") == "just words"
    assert get_family("fibo").serialise_caption(json.dumps(caption)) == json.dumps(caption)


def test_weights_per_family(tmp_path: Path) -> None:
    dev = Settings(home=tmp_path, base_model="tiny")
    assert weights_name(dev, get_family("fibo-2")) == "tiny" and is_tiny(dev, get_family("fibo-2"))
    assert not serves_turbo(dev, get_family("fibo-2"))
    prod = Settings(
        home=tmp_path,
        base_model="briaai/FIBO",
        base_models="fibo-2=/srv/fibo2",
        fibo2_turbo="briaai/Fibo-2.0-turbo",
    )
    assert weights_name(prod, get_family("fibo")) == "briaai/FIBO"
    assert weights_name(prod, get_family("fibo-2")) == "/srv/fibo2"
    assert weights_name(prod, get_family("fibo-2"), turbo=True) == "briaai/Fibo-2.0-turbo"
    assert serves_turbo(prod, get_family("fibo-2")) and not serves_turbo(prod, get_family("fibo"))
    hub = Settings(home=tmp_path, base_model="briaai/FIBO")
    assert weights_name(hub, get_family("fibo-2")) == "briaai/Fibo-2.0-dev"
    for bad in ("fibo-3=tiny", "fibo-2", "fibo-2="):
        with pytest.raises(BaseModelUnavailable, match="TAILOR_BASE_MODELS"):
            weights_name(Settings(home=tmp_path, base_models=bad), get_family("fibo-2"))
