"""Job handler ``generate_image``: structured prompt (via the VLM bridge) -> image -> blob store.

Payload: ``model_id`` (None for the base model), ``prompt``, ``structured_prompt``, ``images``
(reference images for the bridge: URLs or base64), ``negative_prompt``, ``guidance_scale``,
``aspect_ratio``, ``steps_num``, ``seed``, ``influence``, ``output_type`` (png | jpeg).
Result: ``{"image_key", "seed", "structured_prompt", "prompt"?}``.
"""

from __future__ import annotations

import base64
import binascii
import io
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tailor.domain.errors import TailorError, UpstreamUnavailable
from tailor.jobs.handlers import JobContext, PermanentJobError, handler

if TYPE_CHECKING:
    from tailor.store.checkpoints import ServingAdapter

KIND = "generate_image"
PROGRESS_INTERVAL_S = 0.5  # at most this often a progress heartbeat (it also learns of a cancel)


def _model_adapter(ctx: JobContext, model_id: int) -> tuple[ServingAdapter, str | None]:
    """The served adapter and visual schema of a servable model, or a PermanentJobError."""
    from tailor.store.checkpoints import serving_adapter
    from tailor.store.models import get_model_by_id

    with ctx.sessions() as s:
        model = get_model_by_id(s, model_id)
        if model is None or model.organization_id != ctx.organization_id:
            raise PermanentJobError(f"tailored model {model_id} was not found", code=404)
        if model.status != "Completed":
            raise PermanentJobError(f"tailored model {model_id} is {model.status}, not Completed", code=412)
        adapter = serving_adapter(s, model)
        if adapter is None:
            raise PermanentJobError(f"tailored model {model_id} has no trained adapter", code=412)
        return adapter, model.visual_schema


def _live_adapter_keys(ctx: JobContext) -> Callable[[list[str]], set[str]]:
    from tailor.store.checkpoints import live_adapter_keys

    def live(keys: list[str]) -> set[str]:
        with ctx.sessions() as s:
            return live_adapter_keys(s, keys)

    return live


def _reference_images(ctx: JobContext, images: list[str]) -> list[bytes]:
    out = []
    for i, ref in enumerate(images):
        field = f"images.{i}"
        if ref.startswith(("http://", "https://")):
            from tailor.services.safe_fetch import fetch_url

            out.append(
                fetch_url(
                    ref,
                    allow_private=ctx.settings.allow_private_urls,
                    max_bytes=ctx.settings.url_fetch_max_bytes,
                    timeout_s=ctx.settings.url_fetch_timeout_s,
                    field=field,
                )
            )
            continue
        data = ref.split(",", 1)[1] if ref.startswith("data:") else ref
        try:
            out.append(base64.b64decode(data, validate=True))
        except (binascii.Error, ValueError):
            raise PermanentJobError(f"{field}: not a URL or base64-encoded image") from None
    return out


def _structured_prompt(ctx: JobContext, payload: dict[str, Any], visual_schema: str | None) -> str:
    """The structured prompt to render: given as is, or made/refined by the bridge."""
    from tailor.bridge.prompts import validate_structured_prompt

    prompt = payload.get("prompt")
    given = payload.get("structured_prompt")
    images = payload.get("images") or []
    if given and not prompt:
        return validate_structured_prompt(given, field="structured_prompt")
    from tailor.bridge.service import get_bridge

    bridge = get_bridge(ctx.settings, ctx.services)
    return bridge.structured_prompt(
        prompt,
        structured_prompt=given or None,
        visual_schema=visual_schema,
        images=_reference_images(ctx, images) or None,
        seed=payload.get("seed"),
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
    gen: Any,
    payload: dict[str, Any],
    structured: str,
    seed: int,
    adapter: ServingAdapter | None,
) -> bytes:
    from tailor.engine.generation import ImageRequest

    last = [0.0]

    def on_step(step: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_INTERVAL_S or step == total:
            last[0] = now
            ctx.progress(stage="generating", step=step, total_steps=total)  # raises JobCancelled

    return gen.generate(  # type: ignore[no-any-return]
        ImageRequest(
            structured_prompt=structured,
            seed=seed,
            aspect_ratio=payload.get("aspect_ratio", "1:1"),
            steps=int(payload.get("steps_num", 50)),
            guidance_scale=float(payload.get("guidance_scale", 5)),
            negative_prompt=payload.get("negative_prompt"),
            adapter_key=adapter.key if adapter else None,
            adapter_sha256=adapter.sha256 if adapter else None,
            influence=float(payload.get("influence", 1.0)),
        ),
        on_step,
    )


@handler(KIND)
def generate_image(ctx: JobContext, payload: dict[str, Any]) -> dict[str, Any]:
    """Generate one image for a v2 request and store it; the result holds its blob key."""
    from tailor.engine.adapters import AdapterLoadError
    from tailor.engine.generation import get_generator
    from tailor.engine.pipeline import BaseModelUnavailable

    model_id = payload.get("model_id")
    adapter: ServingAdapter | None = None
    visual_schema = None
    if model_id is not None:
        adapter, visual_schema = _model_adapter(ctx, int(model_id))
    try:
        structured = _structured_prompt(ctx, payload, visual_schema)
    except UpstreamUnavailable:
        raise  # retried while attempts remain
    except TailorError as e:
        raise PermanentJobError(e.message, code=e.status if e.status < 500 else 500) from e
    ctx.progress(stage="generating")
    try:
        gen = get_generator(ctx.settings, ctx.services, ctx.blobs)
    except BaseModelUnavailable as e:
        raise PermanentJobError(str(e), code=503) from e
    seed = int(payload["seed"])
    gen.prune_adapters(_live_adapter_keys(ctx))  # never keep a deleted model's adapter loaded
    try:
        png = _generate(ctx, gen, payload, structured, seed, adapter)
    except AdapterLoadError as e:
        raise PermanentJobError(f"the tailored model's adapter could not be loaded: {e}", code=500) from e
    data, ext, content_type = _encode(png, payload.get("output_type", "png"))
    key = f"generated/{ctx.organization_id}/{uuid.uuid4().hex}.{ext}"
    ctx.blobs.put(key, data, content_type)
    result: dict[str, Any] = {"image_key": key, "seed": seed, "structured_prompt": structured}
    if payload.get("prompt"):
        result["prompt"] = payload["prompt"]
    return result
