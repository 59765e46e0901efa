"""Base-model families, one declaration each (see ``base.Family``). Adding a family is one module
here with its declaration, one entry in ``FAMILIES``, and its tests."""

from __future__ import annotations

from tailor.domain.families import Serving
from tailor.engine.families.base import Family
from tailor.engine.families.fibo import FIBO
from tailor.engine.families.fibo2 import FIBO2

FAMILIES: dict[str, Family] = {f.name: f for f in (FIBO, FIBO2)}
DEFAULT_FAMILY = FIBO.name  # models made before families were trained on FIBO


def get_family(name: str | None) -> Family:
    """The family of a ``training_version`` (None: FIBO, as records made before families)."""
    family = FAMILIES.get(name or DEFAULT_FAMILY)
    if family is None:
        raise KeyError(f"unknown base-model family {name!r}; known: {', '.join(FAMILIES)}")
    return family


__all__ = ["DEFAULT_FAMILY", "FAMILIES", "Family", "Serving", "get_family"]
