"""The VLM provider interface and its errors.

A provider turns images and words into raw reply text (JSON for structured prompts, plain text for a
caption prefix). The :class:`~tailor.bridge.service.Bridge` repairs and validates what comes back.

Errors::

    UpstreamUnavailable (503)
    └── VlmUnavailable        the provider could not be reached or kept failing after retries
    Unprocessable (422)
    └── VlmInvalidOutput      the provider answered, but not with a valid structured prompt
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

from tailor.domain.errors import Unprocessable, UpstreamUnavailable


class VlmUnavailable(UpstreamUnavailable):
    """The VLM provider failed (outage, timeouts, rate limits) after every retry."""


class VlmInvalidOutput(Unprocessable):
    """The VLM provider's reply is not valid, even after repair."""


#: Checks (and normalizes) a reply; raises ValueError with the reason when it is not acceptable.
ReplyCheck = Callable[[str], str]


class VlmProvider(ABC):
    """One way to run the bridge's five tasks. Methods return checked reply text."""

    name: str = "base"

    @abstractmethod
    def caption(self, image: bytes, visual_schema: dict[str, Any] | None, check: ReplyCheck) -> str:
        """A structured caption of one image, keeping the schema's constant fields."""

    @abstractmethod
    def visual_schema(self, images: list[bytes], check: ReplyCheck) -> str:
        """What stays constant across sample images, as a partial structured prompt."""

    @abstractmethod
    def generate(
        self,
        prompt: str,
        *,
        visual_schema: dict[str, Any] | None,
        images: list[bytes] | None,
        seed: int | None,
        check: ReplyCheck,
    ) -> str:
        """A new structured prompt from text (and reference images), keeping the schema's IP fields."""

    @abstractmethod
    def refine(
        self,
        structured_prompt: dict[str, Any],
        instruction: str,
        *,
        partial: bool,
        images: list[bytes] | None,
        seed: int | None,
        check: ReplyCheck,
    ) -> str:
        """``structured_prompt`` changed only as ``instruction`` asks."""

    @abstractmethod
    def prefix(self, images: list[bytes], check: ReplyCheck) -> str:
        """A short text caption prefix naming what the images share."""
