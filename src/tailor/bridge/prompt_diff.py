"""``generate_from_diff``: a structured prompt that keeps a user's edits and agrees with them.

The edits are the differences between the original and the user-adjusted structured prompt, as
paths (``lighting.conditions``, ``objects[1].color``). The bridge revises the adjusted prompt with
an instruction that lists them (a VLM can then make the rest agree: the short description, the
mood, an object's relationship), and the edits are laid over its answer again, so that whatever
the model does, every edit the user made is in the result exactly as made.
"""

from __future__ import annotations

import json
from typing import Any

from tailor.bridge.prompts import dumps, parse_structured_prompt, validate_structured_prompt

Path = tuple[str | int, ...]
MISSING: Any = object()


def changes(old: Any, new: Any, path: Path = ()) -> list[tuple[Path, Any, Any]]:
    """``(path, old, new)`` for every leaf that differs (lists of objects compared item by item)."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[tuple[Path, Any, Any]] = []
        for key in list(old) + [k for k in new if k not in old]:
            out += changes(old.get(key, MISSING), new.get(key, MISSING), (*path, key))
        return out
    if (
        isinstance(old, list)
        and isinstance(new, list)
        and len(old) == len(new)
        and all(isinstance(v, dict) for v in old + new)
    ):
        return [c for i, (a, b) in enumerate(zip(old, new, strict=True)) for c in changes(a, b, (*path, i))]
    return [] if old == new else [(path, old, new)]


def render_path(path: Path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def instruction(diff: list[tuple[Path, Any, Any]]) -> str:
    def show(value: Any) -> str:
        return "(removed)" if value is MISSING else json.dumps(value, ensure_ascii=False)

    edits = "; ".join(f"{render_path(p)}: {show(a)} -> {show(b)}" for p, a, b in diff)
    return f"Keep these edits exactly and make the rest of the description agree with them: {edits}"


def apply(data: dict[str, Any], diff: list[tuple[Path, Any, Any]]) -> dict[str, Any]:
    """``data`` with every edit of ``diff`` laid over it (paths that no longer exist are skipped)."""
    for path, _old, new in diff:
        node: Any = data
        for part in path[:-1]:
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                node = None
                break
        if node is None:
            continue
        last = path[-1]
        if new is MISSING:
            if isinstance(node, dict):
                node.pop(last, None)
        elif isinstance(node, dict):
            node[last] = new
        elif isinstance(node, list) and isinstance(last, int) and last < len(node):
            node[last] = new
    return data


def from_diff(refine: Any, structured_prompt: str, adjusted: str) -> str:
    """The reconciled structured prompt; ``refine(structured_prompt, instruction)`` is the bridge's."""
    old = json.loads(validate_structured_prompt(structured_prompt, field="structured_prompt"))
    new = json.loads(validate_structured_prompt(adjusted, field="user_adjusted_structured_prompt"))
    diff = changes(old, new)
    if not diff:
        return dumps(new)
    revised = json.loads(refine(dumps(new), instruction(diff)))
    return dumps(parse_structured_prompt(apply(revised, diff)))
