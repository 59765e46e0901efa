"""Kind ``CAPTION_IMAGE``: captions its image conditioned on the
dataset's visual schema. A worker runs one job at a time, so to keep a remote VLM busy the handler
also takes up to ``4 x vlm_concurrency - 1`` other images of the same dataset whose caption jobs are
still queued and captions them all at once (the provider's semaphore bounds the calls in flight).
Those images' own jobs then find them captioned and finish at once; an image whose batched caption
failed stays pending, so its own job tries again. A job's own failure is retried like any other (a
VLM outage is transient); when the job ends without a caption, its failure hook records the reason
as the image's ``caption_error``.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session

from tailor.domain.enums import CaptionSource, CaptionsUpdateStatus
from tailor.domain.errors import TailorError
from tailor.domain.jobs import CaptionImage
from tailor.jobs.context import JobContext
from tailor.store import captions as store
from tailor.store.db import session_scope
from tailor.store.tables import Job

log = logging.getLogger(__name__)

#: A caption job takes up to this many times ``vlm_concurrency`` images of its dataset in one go.
BATCH_FACTOR = 4


def caption_image(ctx: JobContext, payload: CaptionImage) -> dict[str, Any]:
    """Caption the image (and queued siblings) and store the captions; raise the image's own failure."""
    image_id, dataset_id = payload.image_id, payload.dataset_id
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

    bridge = ctx.resources.bridge()
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
        store.finish_if_done(s, dataset_id)
    if isinstance(own, Exception):
        raise own
    return {"image_id": image_id, "captioned": written, "batch": len(batch)}


def caption_failed(session: Session, job: Job) -> None:
    """Failure hook: the image's caption job ended without a caption; the image says why."""
    payload = job.payload or {}
    image_id, dataset_id = int(payload.get("image_id", 0)), int(payload.get("dataset_id", 0))
    store.store_caption_error(session, image_id, f"captioning failed: {job.error or 'the job ended'}")
    store.finish_if_done(session, dataset_id)
