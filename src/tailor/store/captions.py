"""Caption writes and the queries the VLM bridge's jobs and routes need.

Writes are conditional on ``caption_source == 'pending'``: a caption typed by a user (manual) while
a caption job ran is never overwritten, and two workers captioning the same image write it once.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import CursorResult, case, exists, select, update
from sqlalchemy.orm import Session

from tailor.domain.enums import CaptionSource, CaptionsUpdateStatus, JobState
from tailor.store.tables import Dataset, Image, Job, TailoredModel

CAPTION_KIND = "caption_image"


def _count(result: object) -> int:
    """Rows an UPDATE touched."""
    return int(cast(CursorResult, result).rowcount)


def caption_target(session: Session, image_id: int) -> tuple[Image, Dataset] | None:
    """The image and its dataset, or None when the image is gone."""
    row = session.execute(
        select(Image, Dataset).join(Dataset, Dataset.id == Image.dataset_id).where(Image.id == image_id)
    ).first()
    return (row[0], row[1]) if row else None


def images_by_id(session: Session, dataset_id: int, image_ids: list[int]) -> list[Image]:
    """Images of the dataset with these ids that are still pending a caption, in id order."""
    if not image_ids:
        return []
    return list(
        session.scalars(
            select(Image)
            .where(Image.dataset_id == dataset_id, Image.id.in_(image_ids))
            .where(Image.caption_source == CaptionSource.pending)
            .order_by(Image.id)
        )
    )


def _previous(new_caption: str) -> object:
    """SET expression keeping the caption being replaced (when there is one and it changes)."""
    changed = Image.caption.is_not(None) & (Image.caption != new_caption)
    return case((changed, Image.caption), else_=Image.previous_caption)


def store_caption(session: Session, image_id: int, caption: str) -> bool:
    """Save an automatic caption if the image still waits for one; True when written."""
    n = _count(
        session.execute(
            update(Image)
            .where(Image.id == image_id, Image.caption_source == CaptionSource.pending)
            .values(
                caption=caption,
                caption_source=CaptionSource.automatic,
                caption_error=None,
                previous_caption=_previous(caption),
            )
            .execution_options(synchronize_session=False)
        )
    )
    return bool(n)


def store_caption_error(session: Session, image_id: int, reason: str) -> bool:
    """Record why captioning failed; the image stops being pending (its old caption is kept)."""
    n = _count(
        session.execute(
            update(Image)
            .where(Image.id == image_id, Image.caption_source == CaptionSource.pending)
            .values(caption_source=CaptionSource.automatic, caption_error=reason[:2000])
            .execution_options(synchronize_session=False)
        )
    )
    return bool(n)


def finish_if_done(session: Session, dataset_id: int) -> bool:
    """``captions_update_status``: in_progress -> completed once no image of the dataset is pending."""
    pending = exists().where(Image.dataset_id == dataset_id, Image.caption_source == CaptionSource.pending)
    n = _count(
        session.execute(
            update(Dataset)
            .where(
                Dataset.id == dataset_id, Dataset.captions_update_status == CaptionsUpdateStatus.in_progress
            )
            .where(~pending)
            .values(captions_update_status=CaptionsUpdateStatus.completed)
            .execution_options(synchronize_session=False)
        )
    )
    return bool(n)


def queued_caption_images(
    session: Session, organization_id: int | None, dataset_id: int, *, exclude: int, limit: int
) -> list[int]:
    """Ids of the dataset's images whose caption job is still queued (oldest first), up to ``limit``."""
    if limit <= 0:
        return []
    q = (
        select(Job.payload)
        .where(Job.kind == CAPTION_KIND, Job.state == JobState.queued)
        .order_by(Job.priority, Job.id)
        .limit(max(50, limit * 20))
    )
    if organization_id is not None:
        q = q.where(Job.organization_id == organization_id)
    ids: list[int] = []
    for payload in session.scalars(q):
        if not isinstance(payload, dict) or payload.get("dataset_id") != dataset_id:
            continue
        image_id = payload.get("image_id")
        if isinstance(image_id, int) and image_id != exclude and image_id not in ids:
            ids.append(image_id)
            if len(ids) >= limit:
                break
    return ids


def model_with_schema(
    session: Session, organization_id: int, model_id: int
) -> tuple[TailoredModel, str | None] | None:
    """The organization's model and the visual schema it generates with (its own, else its dataset's)."""
    row = session.execute(
        select(TailoredModel, Dataset.visual_schema)
        .outerjoin(Dataset, Dataset.id == TailoredModel.dataset_id)
        .where(TailoredModel.id == model_id, TailoredModel.organization_id == organization_id)
    ).first()
    if row is None:
        return None
    model, dataset_schema = row[0], row[1]
    return model, (model.visual_schema or dataset_schema or None)
