"""Repairing model replies into JSON objects, and refusing what cannot be repaired."""

from __future__ import annotations

import pytest

from tailor.bridge.repair import clean_text, extract_json_object


@pytest.mark.parametrize(
    "reply",
    [
        '{"a": 1, "b": [1, 2]}',
        '```json\n{"a": 1, "b": [1, 2]}\n```',
        '```\n{"a": 1, "b": [1, 2],}\n```',
        'Sure! Here it is: {"a": 1, "b": [1, 2,],} Hope that helps.',
        '"{\\"a\\": 1, \\"b\\": [1, 2]}"',
        '[{"a": 1, "b": [1, 2]}]',
    ],
)
def test_repairable_replies(reply: str) -> None:
    assert extract_json_object(reply) == {"a": 1, "b": [1, 2]}


def test_commas_and_braces_inside_strings_are_kept() -> None:
    assert extract_json_object('note {"t": "a, } b,]", "u": "{x}",}') == {"t": "a, } b,]", "u": "{x}"}


@pytest.mark.parametrize("reply", ["", "   ", "no json here", '{"a": 1', "[1, 2, 3]", "{'a': 1}"])
def test_unrepairable_replies_say_why(reply: str) -> None:
    with pytest.raises(ValueError, match="empty|no JSON object"):
        extract_json_object(reply)


def test_clean_text() -> None:
    assert clean_text('```\n"A flat icon of a cat, "\n```') == "A flat icon of a cat,"
    with pytest.raises(ValueError):
        clean_text(" `` ")
