"""Job handlers of the VLM bridge: ``caption_image`` and ``structured_prompt_tailored``.

``caption_image`` (payload ``{image_id, dataset_id}``) captions its image conditioned on the
dataset's visual schema. A worker runs one job at a time, so to keep a remote VLM busy the handler
also takes up to ``4 x vlm_concurrency - 1`` other images of the same dataset whose caption jobs are
still queued and captions them all at once (the provider's semaphore bounds the calls in flight).
Those images' own jobs then find them captioned and finish at once; an image whose batched caption
failed stays pending, so its own job tries again and records the error if it fails there too.
"""

from __future__ import annotations

import logging
from typing import Any

from tailor.domain.enums import CaptionSource, CaptionsUpdateStatus
from tailor.domain.errors import TailorError
from tailor.jobs.handlers import JobContext, PermanentJobError, handler
from tailor.store import captions as store
from tailor.store.db import session_scope

log = logging.getLogger(__name__)

CAPTION_KIND = "caption_image"
TAILORED_KIND = "structured_prompt_tailored"
#: A caption job takes up to this many times ``vlm_concurrency`` images of its dataset in one go.
BATCH_FACTOR = 4


def _reason(e: Exception) -> str:
    if isinstance(e, TailorError):
        return f"{e.field}: {e.message}" if e.field and e.field not in e.message else e.message
    return f"{type(e).__name__}: {e}"


@handler(CAPTION_KIND)
def caption_image(ctx: JobContext, payload: dict[str, Any]) -> dict[str, Any]:
    """Caption the image (and queued siblings); store captions, or the reason captioning failed."""
    image_id = int(payload["image_id"])
    dataset_id = int(payload["dataset_id"])
    with session_scope(ctx.sessions) as s:
        target = store.caption_target(s, image_id)
        if target is None:
            store.finish_if_done(s, dataset_id)
            return {"image_id": image_id, "skipped": "deleted"}
        if target[0].caption_source != CaptionSource.pending:  # done by a batch, or captioned by hand
            if target[1].captions_update_status == CaptionsUpdateStatus.in_progress:
                store.finish_if_done(s, dataset_id)
            return {"image_id": image_id, "skipped": "already captioned"}
        image, dataset = target
        schema = dataset.visual_schema
        siblings = store.queued_caption_images(
            s,
            ctx.organization_id,
            dataset_id,
            exclude=image_id,
            limit=BATCH_FACTOR * ctx.settings.vlm_concurrency - 1,
        )
        batch = [(image.id, image.blob_key)] + [
            (im.id, im.blob_key) for im in store.images_by_id(s, dataset_id, siblings)
        ]
    ctx.progress(stage="caption", images=len(batch))

    from tailor.bridge.service import get_bridge

    bridge = get_bridge(ctx.settings, ctx.services)
    datas: list[bytes | Exception] = []
    for _, key in batch:
        try:
            datas.append(ctx.blobs.get(key))
        except Exception as e:  # a missing blob fails that image only
            datas.append(e)
    readable = [d for d in datas if isinstance(d, bytes)]
    try:
        captioned = iter(bridge.caption_many(readable, schema))
        results = [next(captioned) if isinstance(d, bytes) else d for d in datas]
    except TailorError as e:  # e.g. the dataset's stored schema no longer validates
        results = [e] * len(batch)

    own = results[0]
    written = 0
    with session_scope(ctx.sessions) as s:
        for (iid, _), res in zip(batch, results, strict=True):
            if isinstance(res, str):
                written += store.store_caption(s, iid, res)
            elif iid == image_id:
                store.store_caption_error(s, iid, _reason(res))
        store.finish_if_done(s, dataset_id)
    if isinstance(own, Exception):
        code = own.status if isinstance(own, TailorError) else 500
        raise PermanentJobError(f"captioning failed: {_reason(own)}", code=code)
    return {"image_id": image_id, "captioned": written, "batch": len(batch)}


@handler(TAILORED_KIND)
def structured_prompt_tailored(ctx: JobContext, payload: dict[str, Any]) -> dict[str, Any]:
    """Text (and an earlier structured prompt) + the model's visual schema -> a structured prompt."""
    from tailor.bridge.service import get_bridge

    ctx.progress(stage="structured_prompt")
    bridge = get_bridge(ctx.settings, ctx.services)
    try:
        text = bridge.structured_prompt(
            payload.get("prompt"),
            structured_prompt=payload.get("structured_prompt"),
            visual_schema=payload.get("visual_schema"),
            seed=payload.get("seed"),
        )
    except TailorError as e:
        raise PermanentJobError(_reason(e), code=e.status) from e
    result: dict[str, Any] = {"structured_prompt": text, "seed": payload.get("seed")}
    if payload.get("prompt"):
        result["prompt"] = payload["prompt"]
    return result
