"""Structured prompt validation against bria-vgl's model (full prompts and partial visual schemas)."""

from __future__ import annotations

import json

import pytest

from tailor.bridge.prompts import validate_structured_prompt
from tailor.domain.errors import InvalidInput

FULL = {
    "short_description": "A red fox in snow.",
    "objects": [{"description": "a red fox", "location": "center", "relationship": "alone"}],
    "background_setting": "a snowy forest",
    "lighting": {"conditions": "overcast", "direction": "from above"},
    "aesthetics": {"composition": "centered", "color_scheme": "red and white", "mood_atmosphere": "calm"},
    "context": "wildlife photo",
}


def test_full_prompt_validates_and_normalizes_idempotently() -> None:
    text = json.dumps(FULL, indent=2)
    out = validate_structured_prompt(text, field="caption")
    assert json.loads(out) == FULL
    assert validate_structured_prompt(out, field="caption") == out


def test_missing_required_field_is_named() -> None:
    data = {k: v for k, v in FULL.items() if k != "lighting"}
    with pytest.raises(InvalidInput) as e:
        validate_structured_prompt(json.dumps(data), field="caption")
    assert e.value.field == "caption"
    assert "lighting" in e.value.message


def test_empty_strings_count_as_missing_for_a_full_prompt() -> None:
    with pytest.raises(InvalidInput, match="short_description"):
        validate_structured_prompt(json.dumps({**FULL, "short_description": ""}), field="caption")


@pytest.mark.parametrize("text", ["not json", "[1, 2]", '"a string"', "{"])
def test_non_objects_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput):
        validate_structured_prompt(text, field="structured_prompt")


def test_schema_may_leave_per_image_fields_out() -> None:
    schema = {
        "style_medium": "watercolor",
        "objects": [{"description": "a fox mascot"}],
        "lighting": {"conditions": "soft"},
    }
    out = json.loads(validate_structured_prompt(json.dumps(schema), field="visual_schema", schema=True))
    assert out == schema
    with pytest.raises(InvalidInput):  # the same JSON is not a full structured prompt
        validate_structured_prompt(json.dumps(schema), field="visual_schema")


def test_schema_still_checks_types_and_needs_content() -> None:
    with pytest.raises(InvalidInput, match="lighting.conditions"):
        validate_structured_prompt('{"lighting": {"conditions": 3}}', field="visual_schema", schema=True)
    with pytest.raises(InvalidInput, match="at least one field"):
        validate_structured_prompt('{"unknown": "x"}', field="visual_schema", schema=True)
