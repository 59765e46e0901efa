"""Turn a model's reply into a JSON object when that is trivially possible.

Handles: code fences (```json ... ```), prose around one JSON object, trailing commas, smart quotes
around keys, and a bare JSON string holding the object. Anything else is reported, not guessed.
"""

from __future__ import annotations

import json
import re
from typing import Any

_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.S)
_TRAILING_COMMA = re.compile(r",(\s*[}\]])")


def _strip_trailing_commas(text: str) -> str:
    """Remove commas before a closing bracket, outside strings."""
    out: list[str] = []
    in_str = esc = False
    i = 0
    while i < len(text):
        ch = text[i]
        if in_str:
            out.append(ch)
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
            out.append(ch)
        elif ch == ",":
            j = i + 1
            while j < len(text) and text[j] in " \t\r\n":
                j += 1
            if j < len(text) and text[j] in "}]":
                i += 1
                continue
            out.append(ch)
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def _first_object(text: str) -> str | None:
    """The first balanced {...} in ``text`` (string-aware), or None."""
    start = text.find("{")
    while start != -1:
        depth = 0
        in_str = esc = False
        for i in range(start, len(text)):
            ch = text[i]
            if in_str:
                if esc:
                    esc = False
                elif ch == "\\":
                    esc = True
                elif ch == '"':
                    in_str = False
            elif ch == '"':
                in_str = True
            elif ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
                if depth == 0:
                    return text[start : i + 1]
        start = text.find("{", start + 1)
    return None


def _try(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    try:
        return json.loads(_strip_trailing_commas(text))
    except json.JSONDecodeError:
        return None


def extract_json_object(reply: str) -> dict[str, Any]:
    """The JSON object in ``reply``; raises ValueError saying why there is none."""
    if not reply or not reply.strip():
        raise ValueError("the reply is empty")
    candidates = [reply.strip()]
    candidates += [m.group(1).strip() for m in _FENCE.finditer(reply)]
    embedded = _first_object(reply)
    if embedded:
        candidates.append(embedded)
    for cand in candidates:
        value = _try(cand)
        if isinstance(value, str):  # a JSON string that holds the object
            value = _try(value)
        if isinstance(value, dict):
            return value
        if isinstance(value, list) and len(value) == 1 and isinstance(value[0], dict):
            return value[0]
    snippet = reply.strip()[:120].replace("\n", " ")
    raise ValueError(f"the reply holds no JSON object (starts with: {snippet!r})")


def clean_text(reply: str, *, max_chars: int = 500) -> str:
    """A plain-text reply without fences, quotes or surrounding whitespace; ValueError when empty."""
    text = reply.strip()
    m = _FENCE.search(text)
    if m:
        text = m.group(1).strip()
    text = text.strip().strip("\"'`").strip()
    if not text:
        raise ValueError("the reply is empty")
    return text[:max_chars]
