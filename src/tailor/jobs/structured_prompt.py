"""Job kind ``"structured_prompt"``: text and/or an image (or a structured prompt to refine) -> a
structured prompt, through the VLM bridge. Payload: ``prompt``, ``structured_prompt``, ``seed``,
``image_keys`` (blobs written at submit time) and ``image_urls`` (fetched here)."""

from __future__ import annotations

from typing import Any

from tailor.domain.errors import TailorError
from tailor.jobs.handlers import JobContext, PermanentJobError, handler

KIND = "structured_prompt"


def _images(ctx: JobContext, payload: dict[str, Any]) -> list[bytes]:
    from tailor.services.safe_fetch import fetch_url

    images = [ctx.blobs.get(key) for key in payload.get("image_keys") or []]
    for url in payload.get("image_urls") or []:
        try:
            images.append(
                fetch_url(
                    url,
                    allow_private=ctx.settings.allow_private_urls,
                    max_bytes=ctx.settings.url_fetch_max_bytes,
                    timeout_s=ctx.settings.url_fetch_timeout_s,
                    field="images",
                )
            )
        except TailorError as e:
            if e.status >= 500:
                raise  # unreachable: worth another attempt
            raise PermanentJobError(f"images: {e.message}", code=e.status) from e
    return images


@handler(KIND)
def structured_prompt(ctx: JobContext, payload: dict[str, Any]) -> dict[str, Any]:
    """Ask the bridge for a structured prompt; the result is ``{structured_prompt, seed[, prompt]}``."""
    from tailor.bridge.service import get_bridge

    images = _images(ctx, payload)
    ctx.progress(stage="structured_prompt")
    bridge = get_bridge(ctx.settings, ctx.services)
    try:
        text = bridge.structured_prompt(
            payload.get("prompt"),
            structured_prompt=payload.get("structured_prompt"),
            images=images or None,
            seed=payload.get("seed"),
        )
    except TailorError as e:
        if e.status >= 500:
            raise
        raise PermanentJobError(e.message if not e.field else f"{e.field}: {e.message}", code=e.status) from e
    result: dict[str, Any] = {"structured_prompt": text, "seed": payload.get("seed")}
    if payload.get("prompt"):
        result["prompt"] = payload["prompt"]
    return result
