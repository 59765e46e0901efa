"""Rules every request meets before any route sees it, whatever the route.

Text that no database can store, and documents no parser should walk, are refused with 400 naming
the field and the rule:

- NUL characters (``\\u0000``) and unpaired surrogates in any JSON string or key, any form field,
  any query parameter, or the path (PostgreSQL cannot store NUL in text; no database stores half
  a surrogate pair);
- JSON nested deeper than ``MAX_JSON_DEPTH`` (a parser recurses once per level);
- ``NaN`` / ``Infinity``, which Python's parser accepts but JSON (and PostgreSQL's ``json``) do not.

JSON bodies are checked by ``middleware.InputGuardMiddleware`` before routing; multipart forms,
which may be large uploads, are checked as they are parsed, by :func:`read_form`.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request

from tailor.domain.errors import InvalidInput

MAX_JSON_DEPTH = 64
_NAME_CHARS = 80  # field names quoted in messages are cut to this length

_SURROGATE_UTF8 = re.compile(rb"\xed[\xa0-\xbf]")  # a surrogate written directly as (invalid) UTF-8
_FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")

NUL_RULE = "must not contain NUL characters (\\u0000)"
SURROGATE_RULE = "must not contain unpaired surrogates (\\ud800-\\udfff)"
DEPTH_RULE = f"JSON must not be nested deeper than {MAX_JSON_DEPTH} levels"
CONSTANT_RULE = "NaN and Infinity are not valid JSON numbers"


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored as text, or None."""
    if "\x00" in value:
        return NUL_RULE
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return SURROGATE_RULE
    return None


def _name(parts: tuple[Any, ...]) -> str:
    if not parts:
        return "body"
    return ".".join(str(p)[:_NAME_CHARS] for p in parts)


def _top_field(path: tuple[Any, ...]) -> str:
    """The body field a deep value sits in (not its 64-part path)."""
    return _name(path[:1]) if path and isinstance(path[0], str) else "body"


class _Constant(ValueError):
    pass


def _refuse_constant(name: str) -> Any:
    raise _Constant(name)


def _may_hold_constant(body: bytes) -> bool:
    """Whether ``NaN`` or ``Infinity`` appears where a value starts (after ``:``, ``,`` or ``[``),
    not merely inside text such as base64."""
    for token in (b"NaN", b"Infinity"):
        at = body.find(token)
        while at != -1:
            i = at - 1
            while i >= 0 and body[i] in b" \t\r\n-":
                i -= 1
            if i < 0 or body[i] in b":,[":
                return True
            at = body.find(token, at + 1)
    return False


def _more_brackets_than(body: bytes, limit: int) -> bool:
    seen = 0
    for bracket in (b"[", b"{"):
        at = body.find(bracket)
        while at != -1:
            seen += 1
            if seen > limit:
                return True
            at = body.find(bracket, at + 1)
    return False


def _needs_parse(body: bytes) -> bool:
    """False when a plain look at the bytes proves every rule holds (the common case: no escapes,
    fewer brackets than the depth limit). Base64 images have neither brackets nor escapes; each
    look is a C-speed search, so a 50 MB upload is not parsed an extra time."""
    return (
        _more_brackets_than(body, MAX_JSON_DEPTH)
        or (b"\\" in body and b"\\u" in body)
        or (b"\xed" in body and _SURROGATE_UTF8.search(body) is not None)
        or _may_hold_constant(body)
    )


def json_problem(body: bytes) -> tuple[str, str] | None:
    """``(field, rule)`` for the first rule ``body`` breaks, or None. A body that is not JSON at all
    is left to the route's own parser (which answers 400)."""
    if not body or not _needs_parse(body):
        return None
    try:
        doc = json.loads(body, parse_constant=_refuse_constant)
    except _Constant:
        return "body", CONSTANT_RULE
    except RecursionError:
        return "body", DEPTH_RULE
    except ValueError:
        return None
    stack: list[tuple[Any, tuple[Any, ...], int]] = [(doc, (), 0)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, dict):
            if depth >= MAX_JSON_DEPTH:
                return _top_field(path), DEPTH_RULE
            for key, item in value.items():
                problem = text_problem(key)
                if problem is not None:
                    return _name(path), f"a key {problem}"
                stack.append((item, (*path, key), depth + 1))
        elif isinstance(value, list):
            if depth >= MAX_JSON_DEPTH:
                return _top_field(path), DEPTH_RULE
            stack.extend((item, (*path, i), depth + 1) for i, item in enumerate(value))
        elif isinstance(value, str):
            problem = text_problem(value)
            if problem is not None:
                return _name(path), problem
    return None


def is_json_candidate(content_type: str) -> bool:
    """Bodies the app may parse as JSON: anything but forms (FastAPI reads untyped bodies as JSON)."""
    media = content_type.split(";", 1)[0].strip().lower()
    return media not in _FORM_TYPES


def url_problem(path: str, query_string: bytes) -> tuple[str, str] | None:
    """``(where, rule)`` when the path or a query parameter holds text that cannot be stored."""
    problem = text_problem(path)
    if problem is not None:
        return "path", problem
    if b"%00" in query_string or b"\x00" in query_string:
        for name, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
            problem = text_problem(name) or text_problem(value)
            if problem is not None:
                return name[:_NAME_CHARS] or "query", problem
    return None


async def read_form(request: Request, *, max_files: int, max_fields: int) -> FormData:
    """``request.form()`` whose field names, values and file names all meet :func:`text_problem`
    (400 naming the field otherwise). The caller closes the form, as with ``request.form()``."""
    form = await request.form(max_files=max_files, max_fields=max_fields)
    for name, value in form.multi_items():
        problem = text_problem(name)
        field = name[:_NAME_CHARS]
        if problem is not None:
            await form.close()
            raise InvalidInput(f"a form field name {problem}", field="form")
        if isinstance(value, UploadFile):
            problem = text_problem(value.filename or "")
            field = f"{field} (file name)"
        else:
            problem = text_problem(value)
        if problem is not None:
            await form.close()
            raise InvalidInput(f"{field}: {problem}", field=field)
    return form
