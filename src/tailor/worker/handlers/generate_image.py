"""Kind ``GENERATE_IMAGE``: structured prompt (via the VLM bridge) -> image -> blob store.

Result: ``{"image_key", "seed", "structured_prompt", "prompt"?, "parameters"}``, where ``parameters``
holds everything else that made the image (aspect ratio, steps, guidance, negative prompt, model,
influence, the checkpoint served, the steps actually run), so that it can be recreated exactly.
"""

from __future__ import annotations

import io
import time
import uuid
from collections.abc import Callable
from typing import Any

from tailor.bridge.prompts import validate_structured_prompt
from tailor.domain.jobs import GenerateImage, PermanentJobError
from tailor.engine.adapters import AdapterLoadError
from tailor.engine.generation import Generator, ImageRequest
from tailor.engine.moderation import image_moderator
from tailor.engine.pipeline import BaseModelUnavailable
from tailor.jobs.context import JobContext
from tailor.services.reference_images import fetch_reference_images
from tailor.store.checkpoints import ServingAdapter, adapter_at, live_adapter_keys
from tailor.store.models import get_model_by_id

PROGRESS_INTERVAL_S = 0.5  # at most this often a progress heartbeat (it also learns of a cancel)


def _model_adapter(
    ctx: JobContext, model_id: int, step: int | None = None
) -> tuple[ServingAdapter, str | None, str]:
    """The served adapter (or checkpoint ``step``'s), visual schema and base-model family of a
    servable model, or a PermanentJobError."""
    with ctx.sessions() as s:
        model = get_model_by_id(s, model_id)
        if model is None or model.organization_id != ctx.organization_id:
            raise PermanentJobError(f"tailored model {model_id} was not found", code=404)
        if model.status != "Completed":
            raise PermanentJobError(f"tailored model {model_id} is {model.status}, not Completed", code=412)
        adapter = adapter_at(s, model, step)
        if adapter is None and step is not None:
            raise PermanentJobError(f"tailored model {model_id} has no checkpoint at step {step}", code=412)
        if adapter is None:
            raise PermanentJobError(f"tailored model {model_id} has no trained adapter", code=412)
        return adapter, model.visual_schema, model.training_version or "fibo"


def _moderate(ctx: JobContext, image: bytes, what: str) -> None:
    """422, as Bria answers, when the moderation model (if any) blocks ``image``."""
    moderator = image_moderator(ctx.settings)
    reason = moderator.reason(image) if moderator is not None else None
    if reason is not None:
        raise PermanentJobError(f"the {what} was blocked by content moderation: {reason}", code=422)


def _live_adapter_keys(ctx: JobContext) -> Callable[[list[str]], set[str]]:
    def live(keys: list[str]) -> set[str]:
        with ctx.sessions() as s:
            return live_adapter_keys(s, keys)

    return live


def _structured_prompt(ctx: JobContext, payload: GenerateImage, visual_schema: str | None) -> str:
    """The structured prompt to render: given as is, or made/refined by the bridge."""
    if payload.structured_prompt and not payload.prompt:
        return validate_structured_prompt(payload.structured_prompt, field="structured_prompt")
    images = fetch_reference_images(ctx, payload.image_keys, payload.image_urls)
    if payload.moderate_input:
        for image in images:
            _moderate(ctx, image, "visual input")
    return ctx.resources.bridge().structured_prompt(
        payload.prompt,
        structured_prompt=payload.structured_prompt or None,
        visual_schema=visual_schema,
        images=images or None,
        seed=payload.seed,
    )


def _encode(png: bytes, output_type: str) -> tuple[bytes, str, str]:
    if output_type != "jpeg":
        return png, "png", "image/png"
    from PIL import Image

    buf = io.BytesIO()
    Image.open(io.BytesIO(png)).convert("RGB").save(buf, format="JPEG", quality=95)
    return buf.getvalue(), "jpg", "image/jpeg"


def _generate(
    ctx: JobContext,
    gen: Generator,
    payload: GenerateImage,
    structured: str,
    adapter: ServingAdapter | None,
    family: str = "fibo",
) -> bytes:
    last = [0.0]

    def on_step(step: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_INTERVAL_S or step == total:
            last[0] = now
            ctx.progress(stage="generating", step=step, total_steps=total)  # raises JobCancelled

    return gen.generate(
        ImageRequest(
            structured_prompt=structured,
            seed=payload.seed,
            aspect_ratio=payload.aspect_ratio,
            steps=payload.steps_num,
            guidance_scale=payload.guidance_scale,
            negative_prompt=payload.negative_prompt,
            adapter_key=adapter.key if adapter else None,
            adapter_sha256=adapter.sha256 if adapter else None,
            influence=payload.influence,
            family=family,
        ),
        on_step,
    )


def generate_image(ctx: JobContext, payload: GenerateImage) -> dict[str, Any]:
    """Generate one image for a v2 request and store it; the result holds its blob key."""
    adapter: ServingAdapter | None = None
    visual_schema = None
    family = "fibo"
    if payload.model_id is not None:
        adapter, visual_schema, family = _model_adapter(ctx, payload.model_id, payload.checkpoint_step)
    structured = _structured_prompt(ctx, payload, visual_schema)
    ctx.progress(stage="generating")
    try:
        gen = ctx.resources.generator()
    except BaseModelUnavailable as e:
        raise PermanentJobError(str(e), code=503) from e
    gen.prune_adapters(_live_adapter_keys(ctx))  # never keep a deleted model's adapter loaded
    try:
        png = _generate(ctx, gen, payload, structured, adapter, family)
    except BaseModelUnavailable as e:  # a family loaded on first use
        raise PermanentJobError(str(e), code=503) from e
    except AdapterLoadError as e:
        raise PermanentJobError(f"the tailored model's adapter could not be loaded: {e}", code=500) from e
    if payload.moderate_output:
        _moderate(ctx, png, "visual output")
    data, ext, content_type = _encode(png, payload.output_type)
    key = f"generated/{ctx.organization_id}/{uuid.uuid4().hex}.{ext}"
    ctx.blobs.put(key, data, content_type)
    result: dict[str, Any] = {"image_key": key, "seed": payload.seed, "structured_prompt": structured}
    if payload.prompt:
        result["prompt"] = payload.prompt
    result["parameters"] = made_with(payload, adapter, gen.steps_for(payload.steps_num))
    return result


def made_with(payload: GenerateImage, adapter: ServingAdapter | None, steps_run: int) -> dict[str, Any]:
    """Every parameter besides the structured prompt and seed that made the image."""
    params: dict[str, Any] = {
        "aspect_ratio": payload.aspect_ratio,
        "steps_num": payload.steps_num,
        "steps_run": steps_run,
        "guidance_scale": payload.guidance_scale,
        "negative_prompt": payload.negative_prompt,
        "output_type": payload.output_type,
    }
    if payload.model_id is not None:
        params["tailored_model_id"] = str(payload.model_id)
        params["tailored_model_influence"] = payload.influence
        params["model_version"] = adapter.version if adapter is not None and adapter.version else "final"
    return params
