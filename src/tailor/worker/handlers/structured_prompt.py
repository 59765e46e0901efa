"""Kinds ``STRUCTURED_PROMPT`` and ``TAILORED_STRUCTURED_PROMPT``: words and/or images (or a
structured prompt to refine) -> a structured prompt, through the VLM bridge; the tailored kind
conditions it on a model's visual schema. Result: ``{structured_prompt, seed[, prompt]}``."""

from __future__ import annotations

from typing import Any

from tailor.domain.jobs import StructuredPrompt, TailoredStructuredPrompt
from tailor.jobs.context import JobContext
from tailor.services.reference_images import fetch_reference_images


def _result(text: str, seed: int, prompt: str | None) -> dict[str, Any]:
    result: dict[str, Any] = {"structured_prompt": text, "seed": seed}
    if prompt:
        result["prompt"] = prompt
    return result


def structured_prompt(ctx: JobContext, payload: StructuredPrompt) -> dict[str, Any]:
    images = fetch_reference_images(ctx, payload.image_keys, payload.image_urls)
    ctx.progress(stage="structured_prompt")
    text = ctx.resources.bridge().structured_prompt(
        payload.prompt,
        structured_prompt=payload.structured_prompt,
        images=images or None,
        seed=payload.seed,
    )
    return _result(text, payload.seed, payload.prompt)


def tailored_structured_prompt(ctx: JobContext, payload: TailoredStructuredPrompt) -> dict[str, Any]:
    ctx.progress(stage="structured_prompt")
    text = ctx.resources.bridge().structured_prompt(
        payload.prompt,
        structured_prompt=payload.structured_prompt,
        visual_schema=payload.visual_schema,
        seed=payload.seed,
    )
    return _result(text, payload.seed, payload.prompt)
