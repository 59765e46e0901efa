"""Keep a visual schema's IP fields in a structured prompt, and reduce many captions to a schema."""

from __future__ import annotations

import copy
from typing import Any

from tailor.bridge.prompts import PER_IMAGE_FIELDS, PER_IMAGE_OBJECT_FIELDS


def overlay_schema(sp: dict[str, Any], schema: dict[str, Any] | None) -> dict[str, Any]:
    """``sp`` with every constant (non per-image) field the schema holds taken from the schema.

    Nested objects merge key by key; ``objects`` merge item by item (the schema's recurring subjects
    come first and keep their identity; per-image keys such as location come from ``sp``).
    """
    if not schema:
        return sp
    out = copy.deepcopy(sp)
    for key, value in schema.items():
        if key in PER_IMAGE_FIELDS:
            continue
        if key == "objects" and isinstance(value, list):
            out["objects"] = _merge_objects(out.get("objects") or [], value)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = {**out[key], **copy.deepcopy(value)}
        else:
            out[key] = copy.deepcopy(value)
    return out


def _merge_objects(
    objects: list[dict[str, Any]], schema_objects: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    merged: list[dict[str, Any]] = []
    for i, sobj in enumerate(schema_objects):
        base = dict(objects[i]) if i < len(objects) else {}
        identity = {k: copy.deepcopy(v) for k, v in sobj.items() if k not in PER_IMAGE_OBJECT_FIELDS}
        item = {**base, **identity}
        item.setdefault("location", "center")
        item.setdefault("relationship", "the main subject of the scene")
        merged.append(item)
    merged.extend(copy.deepcopy(objects[len(schema_objects) :]))
    return merged


def strip_per_image(sp: dict[str, Any]) -> dict[str, Any]:
    """A structured prompt without its per-image fields: the shape of a visual schema."""
    out = {k: copy.deepcopy(v) for k, v in sp.items() if k not in PER_IMAGE_FIELDS}
    if isinstance(out.get("objects"), list):
        out["objects"] = [
            {k: v for k, v in o.items() if k not in PER_IMAGE_OBJECT_FIELDS} for o in out["objects"]
        ]
    return out


def common_fields(items: list[dict[str, Any]]) -> dict[str, Any]:
    """The fields (recursively, key by key) whose values are the same in every item."""
    if not items:
        return {}
    first, rest = items[0], items[1:]
    out: dict[str, Any] = {}
    for key, value in first.items():
        others = [it.get(key) for it in rest]
        if isinstance(value, dict) and all(isinstance(o, dict) for o in others):
            sub = common_fields([value, *others])  # type: ignore[list-item]
            if sub:
                out[key] = sub
        elif all(o == value for o in others):
            out[key] = copy.deepcopy(value)
    return out


def _norm(value: Any) -> str:
    return " ".join(str(value).lower().split())


def schema_conflicts(sp: dict[str, Any], schema: dict[str, Any] | None, _path: str = "") -> list[str]:
    """The IP (non per-image) fields where ``sp`` states a value other than the schema's, as dotted
    paths (``objects[0].color``). A field the caption leaves out or empty is not a conflict."""
    if not schema:
        return []
    out: list[str] = []
    for key, value in schema.items():
        if not _path and key in PER_IMAGE_FIELDS:
            continue
        path = f"{_path}.{key}" if _path else key
        mine = sp.get(key)
        if mine in (None, "", [], {}) or value in (None, "", [], {}):
            continue
        if key == "objects" and not _path and isinstance(value, list) and isinstance(mine, list):
            for i, (s_obj, c_obj) in enumerate(zip(value, mine, strict=False)):
                if isinstance(s_obj, dict) and isinstance(c_obj, dict):
                    identity = {k: v for k, v in s_obj.items() if k not in PER_IMAGE_OBJECT_FIELDS}
                    out.extend(schema_conflicts(c_obj, identity, f"objects[{i}]"))
        elif isinstance(value, dict) and isinstance(mine, dict):
            out.extend(schema_conflicts(mine, value, path))
        elif isinstance(value, dict | list) or isinstance(mine, dict | list):
            if value != mine:
                out.append(path)
        elif _norm(value) != _norm(mine):
            out.append(path)
    return out
