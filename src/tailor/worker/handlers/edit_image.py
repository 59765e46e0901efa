"""Kind ``EDIT_IMAGE``: images (+ mask) and a structured instruction -> edited image -> blob store.

Result: ``{"image_key", "seed", "structured_prompt"}`` (the structured instruction, which recreates
the image with the same seed and images).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from tailor.domain.jobs import EditImage, PermanentJobError
from tailor.engine.adapters import AdapterLoadError
from tailor.engine.generation import ImageRequest
from tailor.engine.pipeline import BaseModelUnavailable
from tailor.jobs.context import JobContext
from tailor.services.reference_images import fetch_reference_images
from tailor.store.checkpoints import ServingAdapter
from tailor.worker.handlers.generate_image import PROGRESS_INTERVAL_S, _live_adapter_keys, _model_adapter


def _fetch(ctx: JobContext, ref: str, field: str) -> bytes:
    """A request image by its blob key or URL."""
    if ref.startswith(("http://", "https://")):
        return fetch_reference_images(ctx, [], [ref], field=field)[0]
    return fetch_reference_images(ctx, [ref], [], field=field)[0]


def edit_image(ctx: JobContext, payload: EditImage) -> dict[str, Any]:
    """Edit the request's images as its structured instruction says and store the result."""
    adapter: ServingAdapter | None = None
    if payload.model_id is not None:
        adapter, _schema, family = _model_adapter(ctx, payload.model_id)
        if family != payload.family:
            raise PermanentJobError(
                f"tailored model {payload.model_id} is no longer a {payload.family} model"
            )
    images = tuple(_fetch(ctx, ref, f"images.{i}") for i, ref in enumerate(payload.images))
    mask = _fetch(ctx, payload.mask, "mask") if payload.mask else None
    ctx.progress(stage="editing")
    try:
        gen = ctx.resources.generator()
    except BaseModelUnavailable as e:
        raise PermanentJobError(str(e), code=503) from e
    gen.prune_adapters(_live_adapter_keys(ctx))
    last = [0.0]

    def on_step(step: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_INTERVAL_S or step == total:
            last[0] = now
            ctx.progress(stage="editing", step=step, total_steps=total)  # raises JobCancelled

    request = ImageRequest(
        structured_prompt=payload.instruction,
        seed=payload.seed,
        steps=payload.steps_num,
        guidance_scale=payload.guidance_scale,
        negative_prompt=payload.negative_prompt,
        adapter_key=adapter.key if adapter else None,
        adapter_sha256=adapter.sha256 if adapter else None,
        influence=payload.influence,
        family=payload.family,
        images=images,
        mask=mask,
    )
    try:
        png = gen.generate(request, on_step)
    except BaseModelUnavailable as e:
        raise PermanentJobError(str(e), code=503) from e
    except AdapterLoadError as e:
        raise PermanentJobError(f"the tailored model's adapter could not be loaded: {e}", code=500) from e
    except ValueError as e:  # the pipeline refused the inputs (an image it cannot read, a bad mask)
        raise PermanentJobError(f"the images could not be edited: {e}", code=400) from e
    key = f"generated/{ctx.organization_id}/{uuid.uuid4().hex}.png"
    ctx.blobs.put(key, png, "image/png")
    return {"image_key": key, "seed": payload.seed, "structured_prompt": payload.instruction}
