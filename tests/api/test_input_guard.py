"""``input_guard.json_problem``: what it refuses, and what only looks like it should be refused."""

from __future__ import annotations

import base64
import json

import pytest

from tailor.api.input_guard import CONSTANT_RULE, DEPTH_RULE, NUL_RULE, SURROGATE_RULE, json_problem


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b'{"a": "x\\u0000"}', ("a", NUL_RULE)),
        (b'{"a": {"b": ["ok", "\\u0000"]}}', ("a.b.1", NUL_RULE)),
        (b'{"\\u0000": 1}', ("body", f"a key {NUL_RULE}")),
        (b'{"a": "\\ud800"}', ("a", SURROGATE_RULE)),
        (b'{"a": "\\udc00x"}', ("a", SURROGATE_RULE)),
        ('{"a": "\ud800"}'.encode("utf-8", "surrogatepass"), ("a", SURROGATE_RULE)),
        (b'{"a": NaN}', ("body", CONSTANT_RULE)),
        (b"[1, -Infinity]", ("body", CONSTANT_RULE)),
        (b"NaN", ("body", CONSTANT_RULE)),
        (b"[" * 65 + b"]" * 65, ("body", DEPTH_RULE)),
        (b'{"a": ' + b"[" * 64 + b"]" * 64 + b"}", ("a", DEPTH_RULE)),
        (b"[" * 5000, ("body", DEPTH_RULE)),
    ],
)
def test_refused(body: bytes, problem: tuple[str, str]) -> None:
    assert json_problem(body) == problem


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json at all [[[",  # left to the route's parser, which answers 400
        b'{"a": "x\\\\u0000"}',  # an escaped backslash, then "u0000": no NUL
        b'{"a": "\\ud83d\\ude00"}',  # a surrogate pair: one emoji
        '{"a": "é 😀"}'.encode(),
        b'{"a": "NaN", "b": "Infinity is far"}',
        b"[" * 64 + b"]" * 64,
        json.dumps({"file": base64.b64encode(b"\xff" * 3 + b"5\xa3\x4d" * 40).decode()}).encode(),
    ],
)
def test_accepted(body: bytes) -> None:
    assert json_problem(body) is None


def test_base64_that_spells_nan_is_not_a_constant() -> None:
    text = base64.b64encode(b"5\xa3\x4d").decode()
    assert text == "NaNN"
    assert json_problem(json.dumps({"file": text * 1000}).encode()) is None
