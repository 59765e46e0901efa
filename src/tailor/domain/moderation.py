"""Content moderation rules that need no model: the prompt check, and how a block is reported.

Images are checked by a classifier (``engine.moderation``) when ``TAILOR_MODERATION_MODEL`` names
one; prompts by the terms of ``TAILOR_MODERATION_BLOCKED_TERMS``. With neither, moderation is off:
the requests' flags are accepted and change nothing (``/health`` says so).
"""

from __future__ import annotations

import re

from tailor.domain.errors import Unprocessable

OFF_NOTE = "content moderation is off: no TAILOR_MODERATION_MODEL or TAILOR_MODERATION_BLOCKED_TERMS is set"


def terms_of(setting: str | None) -> list[str]:
    return [t.strip().lower() for t in (setting or "").split(",") if t.strip()]


def blocked_term(text: str | None, terms: list[str]) -> str | None:
    """The first blocked term that ``text`` contains as a whole word (or phrase), else None."""
    if not text or not terms:
        return None
    lowered = text.lower()
    for term in terms:
        if re.search(rf"(?<!\w){re.escape(term)}(?!\w)", lowered):
            return term
    return None


def check_prompt(text: str | None, terms: list[str], *, field: str = "prompt") -> None:
    """422, as Bria answers a blocked request, when ``text`` holds a blocked term."""
    term = blocked_term(text, terms)
    if term is not None:
        raise Unprocessable(f"{field} was blocked by content moderation (blocked term {term!r})", field=field)
