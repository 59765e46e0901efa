"""The bridge: one object that turns images and words into validated structured prompts.

``build_bridge(settings)`` makes one, backed by the provider that ``TAILOR_VLM`` names: ``offline``
(the default) or a litellm model id. Each process keeps one (``bootstrap.Resources.bridge``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tailor.bridge.prompts import dumps, parse_structured_prompt, validate_structured_prompt
from tailor.bridge.provider_base import VlmInvalidOutput, VlmProvider
from tailor.bridge.repair import clean_text, extract_json_object
from tailor.bridge.schema_merge import overlay_schema
from tailor.config import Settings
from tailor.domain.errors import InvalidInput

log = logging.getLogger(__name__)

MAX_PROMPT_CHARS = 10_000


def _fill_from(base: dict[str, Any] | None) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A repair: top-level fields the reply left out are taken from ``base`` (schema or original)."""

    def fill(reply: dict[str, Any]) -> dict[str, Any]:
        if not base:
            return reply
        return {
            **{k: v for k, v in base.items() if k not in reply or reply[k] in (None, "")},
            **{k: v for k, v in reply.items() if v not in (None, "")},
        }

    return fill


def _checker(
    *, schema: bool, prepare: Callable[[dict[str, Any]], dict[str, Any]] | None = None
) -> Callable[[str], str]:
    """Repair, validate and normalize a reply; ``prepare`` may fill what the reply left out."""
    kind = "visual schema" if schema else "structured prompt"

    def check(reply: str) -> str:
        try:
            data = extract_json_object(reply)
            if prepare is not None:
                data = prepare(data)
            return dumps(parse_structured_prompt(data, schema=schema))
        except ValueError as e:
            raise VlmInvalidOutput(f"the VLM did not return a valid {kind}: {e}") from e

    return check


def _check_text(reply: str) -> str:
    try:
        return clean_text(reply)
    except ValueError as e:
        raise VlmInvalidOutput(f"the VLM did not return a caption prefix: {e}") from e


def _order_like(original: Any, new: Any) -> Any:
    """``new`` with its keys in ``original``'s order (new keys last), so unchanged parts serialize alike."""
    if isinstance(original, dict) and isinstance(new, dict):
        ordered = {k: _order_like(original[k], new[k]) for k in original if k in new}
        ordered.update({k: v for k, v in new.items() if k not in ordered})
        return ordered
    if isinstance(original, list) and isinstance(new, list):
        return [_order_like(o, n) for o, n in zip(original, new, strict=False)] + new[len(original) :]
    return new


def _text(value: str | None, field: str, *, required: bool = True) -> str | None:
    if value is None or not value.strip():
        if required:
            raise InvalidInput(f"{field} must not be empty", field=field)
        return None
    if len(value) > MAX_PROMPT_CHARS:
        raise InvalidInput(f"{field} is longer than {MAX_PROMPT_CHARS} characters", field=field)
    return value.strip()


class Bridge:
    """Structured prompts, visual schemas, captions, refinement and caption prefixes."""

    def __init__(self, provider: VlmProvider, settings: Settings) -> None:
        self.provider = provider
        self.settings = settings

    @property
    def name(self) -> str:
        return self.provider.name

    def _schema(self, visual_schema: str | None) -> dict[str, Any] | None:
        if not visual_schema:
            return None
        return json.loads(validate_structured_prompt(visual_schema, field="visual_schema", schema=True))

    def structured_prompt(
        self,
        prompt: str | None,
        *,
        structured_prompt: str | None = None,
        visual_schema: str | None = None,
        images: list[bytes] | None = None,
        seed: int | None = None,
    ) -> str:
        """Text -> structured prompt; with ``structured_prompt``, refine it by ``prompt``.

        With ``visual_schema``, the result keeps the schema's IP (constant) fields.
        """
        schema = self._schema(visual_schema)
        check = _checker(schema=False, prepare=_fill_from(schema))
        if structured_prompt is not None:
            base = json.loads(validate_structured_prompt(structured_prompt, field="structured_prompt"))
            text = _text(prompt, "prompt", required=False)
            if text is None:
                return dumps(overlay_schema(base, schema))
            check = _checker(schema=False, prepare=_fill_from({**(schema or {}), **base}))
            out = self.provider.refine(base, text, partial=False, images=images, seed=seed, check=check)
            merged = _order_like(base, overlay_schema(json.loads(out), schema))
            return dumps(parse_structured_prompt(merged)) if schema else dumps(merged)
        text = _text(prompt, "prompt", required=not images)
        if text is None:  # an image alone: a structured prompt that describes it
            assert images
            return self.caption(images[0], visual_schema)
        out = self.provider.generate(text, visual_schema=schema, images=images, seed=seed, check=check)
        return dumps(parse_structured_prompt(overlay_schema(json.loads(out), schema)))

    def caption(self, image: bytes, visual_schema: str | None = None) -> str:
        """A structured caption of one image, conditioned on the dataset's visual schema."""
        schema = self._schema(visual_schema)
        out = self.provider.caption(image, schema, _checker(schema=False, prepare=_fill_from(schema)))
        return dumps(parse_structured_prompt(overlay_schema(json.loads(out), schema)))

    def caption_many(self, images: list[bytes], visual_schema: str | None = None) -> list[str | Exception]:
        """Caption several images at once (up to ``vlm_concurrency`` in flight); errors are returned."""
        self._schema(visual_schema)  # fail fast on a bad schema

        def one(img: bytes) -> str | Exception:
            try:
                return self.caption(img, visual_schema)
            except Exception as e:  # reported per image
                return e

        workers = max(1, min(self.settings.vlm_concurrency, len(images)))
        if workers == 1:
            return [one(i) for i in images]
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="caption") as pool:
            return list(pool.map(one, images))

    def visual_schema(self, images: list[bytes]) -> str:
        """What stays constant across sample images (style, medium, palette, lighting, subject)."""
        if not images:
            raise InvalidInput("images must hold at least one image", field="images")
        return self.provider.visual_schema(images, _checker(schema=True))

    def refine(self, structured_prompt: str, instruction: str, images: list[bytes] | None = None) -> str:
        """Change only what ``instruction`` asks; the rest serializes as before.

        ``structured_prompt`` may be a full structured prompt (a caption) or a visual schema.
        """
        text = _text(instruction, "instruction")
        assert text is not None
        try:
            normalized = validate_structured_prompt(structured_prompt, field="structured_prompt")
            partial = False
        except InvalidInput:
            normalized = validate_structured_prompt(structured_prompt, field="structured_prompt", schema=True)
            partial = True
        base = json.loads(normalized)
        out = self.provider.refine(
            base,
            text,
            partial=partial,
            images=images,
            seed=None,
            check=_checker(schema=partial, prepare=None if partial else _fill_from(base)),
        )
        return dumps(_order_like(base, json.loads(out)))

    def prefix(self, images: list[bytes]) -> str:
        """A short text caption prefix for a legacy dataset."""
        if not images:
            raise InvalidInput("images must hold at least one image", field="images")
        return self.provider.prefix(images, _check_text)


def make_provider(settings: Settings) -> VlmProvider:
    """The provider ``settings.vlm`` names."""
    if settings.vlm.strip().lower() == "offline":
        from tailor.bridge.provider_offline import OfflineProvider

        return OfflineProvider()
    from tailor.bridge.provider_litellm import LiteLLMProvider

    return LiteLLMProvider(settings)


def build_bridge(settings: Settings) -> Bridge:
    """A bridge over the provider that ``settings.vlm`` names (one per process: see ``bootstrap``)."""
    bridge = Bridge(make_provider(settings), settings)
    if bridge.name == "offline":
        log.info("VLM bridge: offline provider (deterministic fallback; set TAILOR_VLM for a real VLM)")
    else:
        log.info("VLM bridge: %s (concurrency %d)", bridge.name, settings.vlm_concurrency)
    return bridge
