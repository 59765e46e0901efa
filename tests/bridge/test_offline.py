"""The offline provider on real generated images and prompts: derived from inputs, valid, deterministic."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tailor.bridge.prompts import validate_structured_prompt
from tailor.bridge.service import Bridge, build_bridge
from tailor.config import Settings

from .images import make_image, sample_set


@pytest.fixture
def bridge(tmp_path: Path) -> Bridge:
    return build_bridge(Settings(home=tmp_path, vlm="offline"))  # type: ignore[call-arg]


def _full(text: str) -> dict:
    return json.loads(validate_structured_prompt(text, field="out"))


def test_same_image_same_caption(bridge: Bridge) -> None:
    img = make_image((200, 60, 40), (20, 20, 20), at=(0.3, 0.3), noise=20)
    assert bridge.caption(img) == bridge.caption(img)


def test_palette_is_named_in_words(bridge: Bridge) -> None:
    red = _full(bridge.caption(make_image((210, 30, 30))))
    blue = _full(bridge.caption(make_image((30, 50, 210))))
    assert "red" in red["aesthetics"]["color_scheme"]
    assert "blue" in blue["aesthetics"]["color_scheme"]
    assert red != blue


def test_brightness_shapes_lighting(bridge: Bridge) -> None:
    dark = _full(bridge.caption(make_image((15, 15, 20), (60, 60, 70))))
    bright = _full(bridge.caption(make_image((240, 240, 235), (200, 200, 190))))
    assert "low-key" in dark["lighting"]["conditions"]
    assert "high-key" in bright["lighting"]["conditions"]


def test_subject_position_shapes_composition(bridge: Bridge) -> None:
    locations = {
        at: _full(bridge.caption(make_image((240, 240, 240), (200, 20, 20), at=at)))["objects"][0]["location"]
        for at in [(0.2, 0.2), (0.8, 0.8), (0.5, 0.5)]
    }
    assert locations == {(0.2, 0.2): "top-left", (0.8, 0.8): "bottom-right", (0.5, 0.5): "center"}


def test_aspect_shapes_framing(bridge: Bridge) -> None:
    wide = _full(bridge.caption(make_image((90, 140, 90), size=(300, 100))))
    tall = _full(bridge.caption(make_image((90, 140, 90), size=(100, 200))))
    assert "panoramic" in wide["aesthetics"]["composition"]
    assert "vertical" in tall["aesthetics"]["composition"]


def test_photo_like_noise_is_not_called_an_illustration(bridge: Bridge) -> None:
    flat = _full(bridge.caption(make_image((240, 200, 40), (30, 30, 30))))
    photo = _full(bridge.caption(make_image((120, 110, 100), (60, 70, 80), noise=40, seed=3)))
    assert "illustration" in flat["style_medium"]
    assert photo["style_medium"] == "photograph"
    assert "photographic_characteristics" in photo


def test_visual_schema_keeps_what_is_constant(bridge: Bridge) -> None:
    schema = json.loads(bridge.visual_schema(sample_set(5)))
    validate_structured_prompt(json.dumps(schema), field="visual_schema", schema=True)
    assert "short_description" not in schema and "background_setting" not in schema
    assert "red" in schema["objects"][0]["shape_and_color"]
    assert "location" not in schema["objects"][0]
    other = json.loads(bridge.visual_schema([make_image((240, 230, 200), (20, 120, 40), at=(0.5, 0.5))] * 5))
    assert other != schema


def test_caption_keeps_the_schema_fields(bridge: Bridge) -> None:
    schema = bridge.visual_schema(sample_set(5))
    s = json.loads(schema)
    cap = _full(bridge.caption(make_image((240, 240, 240), (30, 160, 30), at=(0.8, 0.2)), schema))
    assert cap["style_medium"] == s["style_medium"]
    assert cap["objects"][0]["description"] == s["objects"][0]["description"]
    assert cap["objects"][0]["location"] == "top-right"  # per-image field from this image


def test_text_prompt_words_land_in_fields(bridge: Bridge) -> None:
    sp = _full(
        bridge.structured_prompt(
            "a fox reading a book in a snowy forest at sunset, watercolor, with the text 'HELLO'"
        )
    )
    assert sp["objects"][0]["description"] == "a fox reading a book"
    assert "snowy forest" in sp["background_setting"]
    assert "sunset" in sp["lighting"]["conditions"]
    assert sp["style_medium"] == "watercolor painting"
    assert sp["text_render"][0]["text"] == "HELLO"
    other = _full(bridge.structured_prompt("a robot in a neon city at night, close-up photo"))
    assert other["lighting"] != sp["lighting"] and other["style_medium"] == "photograph"


def test_tailored_prompt_keeps_schema_ip_fields(bridge: Bridge) -> None:
    schema = {
        "style_medium": "flat vector illustration",
        "artistic_style": "minimalist flat",
        "objects": [{"description": "Lucy, a round orange robot mascot", "shape_and_color": "round, orange"}],
    }
    sp = _full(bridge.structured_prompt("a robot riding a bike in a park", visual_schema=json.dumps(schema)))
    assert sp["style_medium"] == schema["style_medium"] and sp["artistic_style"] == schema["artistic_style"]
    assert sp["objects"][0]["description"] == schema["objects"][0]["description"]
    assert "park" in sp["background_setting"]
    # the description speaks of the schema's medium, not of a photograph the prompt never asked for
    assert sp["short_description"].startswith("A flat vector illustration of a robot")


def test_refine_changes_only_the_named_field(bridge: Bridge) -> None:
    caption = bridge.caption(make_image((20, 30, 90), (220, 40, 40)))
    out = bridge.refine(caption, "change the background to a sunny beach")
    before, after = json.loads(caption), json.loads(out)
    assert after["background_setting"] == "a sunny beach"
    assert list(after) == list(before)
    for key in before:
        if key != "background_setting":
            assert json.dumps(after[key], ensure_ascii=False) == json.dumps(before[key], ensure_ascii=False)
    # the untouched text is byte-identical around the edited value
    head = caption.split('"background_setting"')[0]
    assert out.startswith(head)
    assert out.endswith(caption.split('"lighting"', 1)[1])


def test_refine_schema_name_and_colors(bridge: Bridge) -> None:
    schema = json.dumps(
        {"objects": [{"description": "a small fox"}], "aesthetics": {"color_scheme": "red, blue and white"}}
    )
    out = json.loads(bridge.refine(schema, "the character's name is Lucy; remove blue from colors"))
    assert out["objects"][0]["description"].startswith("Lucy")
    assert "blue" not in out["aesthetics"]["color_scheme"] and "red" in out["aesthetics"]["color_scheme"]
    assert "short_description" not in out  # still a partial schema
    validate_structured_prompt(json.dumps(out), field="s", schema=True)


def test_refine_by_prompt_keeps_other_fields(bridge: Bridge) -> None:
    sp = bridge.structured_prompt("a cat on a sofa")
    out = json.loads(bridge.structured_prompt("add dramatic lighting", structured_prompt=sp))
    assert out["lighting"]["conditions"] == "dramatic lighting"
    assert out["objects"] == json.loads(sp)["objects"]


def test_prefix_is_text_from_the_images(bridge: Bridge) -> None:
    p1 = bridge.prefix(sample_set(3))
    p2 = bridge.prefix([make_image((250, 250, 250), (30, 160, 30))] * 3)
    assert p1.startswith("A ") and p1 != p2 and "red" in p1


def test_an_image_alone_gives_a_structured_prompt_describing_it(bridge: Bridge) -> None:
    img = make_image((20, 30, 90), (220, 40, 40), at=(0.2, 0.8))
    sp = _full(bridge.structured_prompt(None, images=[img]))
    assert sp["objects"][0]["location"] == "bottom-left"
    assert bridge.structured_prompt(None, images=[img]) == bridge.caption(img)
