"""Structured prompts: parse and validate against bria-vgl's model, and serialize one normal way.

A structured prompt (a caption, a generation prompt) must satisfy bria-vgl's ``ThalesVGL``. A visual
schema uses a *partial* form of the same model: every field may be left out (the per-image ones
are), but what it does hold must have the model's types.
"""

from __future__ import annotations

import json
import math
import types
import typing
from functools import cache
from typing import Any, Union

from bria_vgl.dialects.thales.model import ThalesVGL
from pydantic import BaseModel, ValidationError, create_model

import tailor.bridge  # noqa: F401  (sets LITELLM_LOCAL_MODEL_COST_MAP before bria_vgl imports litellm)
from tailor.domain.errors import InvalidInput

#: The structured prompt's pydantic model (Bria's own, from bria-vgl).
StructuredPrompt = ThalesVGL

#: Longest structured prompt accepted, in characters.
MAX_CHARS = 100_000

# Fields a visual schema leaves out because they describe one image, not the IP.
PER_IMAGE_FIELDS = ("short_description", "background_setting", "text_render")
PER_IMAGE_OBJECT_FIELDS = ("location", "relationship", "relative_size", "pose", "action", "orientation")

# Fields of ``aesthetics`` that FIBO reads and Bria's prompts carry ("very high" ...), although
# bria-vgl's model does not declare them: kept as given (strings).
AESTHETICS_SCORES = ("preference_score", "aesthetic_score")


def _partial_annotation(ann: Any) -> Any:
    """``ann`` with every nested model replaced by its all-optional twin."""
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return partial_model(ann)
    origin = typing.get_origin(ann)
    if origin is None:
        return ann
    args = tuple(_partial_annotation(a) for a in typing.get_args(ann))
    if origin in (Union, types.UnionType):
        return Union[args]  # noqa: UP007  (built from a runtime tuple)
    if origin is list:
        return list[args[0]]  # type: ignore[valid-type]
    return ann


@cache
def partial_model(model: type[BaseModel]) -> type[BaseModel]:
    """A copy of ``model`` where every field is optional (default None), nested models too."""
    fields: dict[str, Any] = {
        name: (_partial_annotation(f.annotation) | None, None) for name, f in model.model_fields.items()
    }
    return create_model(f"Partial{model.__name__}", **fields)  # type: ignore[call-overload, no-any-return]


def _is_filled(value: Any) -> bool:
    return not (value is None or value in ("", [], {}) or (isinstance(value, float) and math.isnan(value)))


def drop_empty(value: Any) -> Any:
    """Remove None, empty strings, lists and objects, recursively (as bria-vgl does before validating)."""
    if isinstance(value, dict):
        out = {k: drop_empty(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if _is_filled(v)}
    if isinstance(value, list):
        items = [drop_empty(v) for v in value]
        return [v for v in items if _is_filled(v)]
    return value


def _describe(e: ValidationError) -> str:
    parts = []
    for err in e.errors():
        loc = ".".join(str(p) for p in err.get("loc", ())) or "(root)"
        parts.append(f"{loc}: {err.get('msg', 'invalid')}")
    return "; ".join(parts[:5]) + ("" if len(parts) <= 5 else f" (and {len(parts) - 5} more)")


def dumps(data: dict[str, Any]) -> str:
    """The one serialization Tailor uses for structured prompts (compact spacing, UTF-8 kept)."""
    return json.dumps(data, ensure_ascii=False)


def _keep_scores(given: dict[str, Any], out: dict[str, Any]) -> None:
    """Copy the aesthetics scores of ``given`` into ``out`` (after the model's own fields)."""
    aesthetics = given.get("aesthetics")
    if not isinstance(aesthetics, dict):
        return
    scores = {k: v for k, v in aesthetics.items() if k in AESTHETICS_SCORES}
    for key, value in scores.items():
        if not isinstance(value, str):
            raise ValueError(f"aesthetics.{key}: must be a string such as 'very high'")
    if scores:
        out["aesthetics"] = {**out.get("aesthetics", {}), **scores}


def parse_structured_prompt(data: Any, *, schema: bool = False) -> dict[str, Any]:
    """Validate a decoded JSON value; returns the normalized dict. Raises ValueError with the reason."""
    if not isinstance(data, dict):
        raise ValueError(f"must be a JSON object, not {type(data).__name__}")
    cleaned = drop_empty(data)
    model = partial_model(StructuredPrompt) if schema else StructuredPrompt
    try:
        obj = model.model_validate(cleaned)
    except ValidationError as e:
        raise ValueError(_describe(e)) from e
    out = drop_empty(obj.model_dump(exclude_none=True))
    _keep_scores(cleaned, out)
    if schema and not out:
        raise ValueError("a visual schema must describe at least one field of the structured prompt")
    return typing.cast(dict[str, Any], out)


def validate_structured_prompt(text: str, *, field: str, schema: bool = False) -> str:
    """Parse + validate ``text`` against bria-vgl's model; returns the normalized JSON string.

    ``schema=True`` validates a visual schema: per-image fields may be empty. Raises
    ``InvalidInput(field=field)`` naming the rule that failed.
    """
    if not isinstance(text, str):
        raise InvalidInput(f"{field} must be a JSON string", field=field)
    if len(text) > MAX_CHARS:
        raise InvalidInput(f"{field} is longer than {MAX_CHARS} characters", field=field)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise InvalidInput(f"{field} is not valid JSON: {e.msg} at line {e.lineno}", field=field) from e
    except RecursionError as e:
        raise InvalidInput(f"{field} is not a valid structured prompt: nested too deeply", field=field) from e
    kind = "visual schema" if schema else "structured prompt"
    try:
        normalized = parse_structured_prompt(data, schema=schema)
    except ValueError as e:
        raise InvalidInput(f"{field} is not a valid {kind}: {e}", field=field) from e
    return dumps(normalized)


def load(text: str) -> dict[str, Any]:
    """Decode a structured prompt string already known to be valid."""
    return typing.cast(dict[str, Any], json.loads(text))
