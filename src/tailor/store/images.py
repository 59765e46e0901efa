"""Images: queries and writes on the ``images`` table, and which blob keys are still referenced."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, not_, or_, select, update
from sqlalchemy.orm import Session

from tailor.domain.enums import CaptionSource, CaptionState
from tailor.store.tables import Dataset, Image


def add_image(session: Session, organization_id: int, dataset_id: int, **values: Any) -> Image:
    image = Image(organization_id=organization_id, dataset_id=dataset_id, **values)
    session.add(image)
    session.flush()
    return image


def get_image(session: Session, dataset_id: int, image_id: int) -> Image | None:
    return session.scalar(select(Image).where(Image.id == image_id, Image.dataset_id == dataset_id))


def get_image_by_id(session: Session, image_id: int) -> Image | None:
    return session.get(Image, image_id)


def list_images(session: Session, dataset_id: int, limit: int | None = None) -> list[Image]:
    q = select(Image).where(Image.dataset_id == dataset_id).order_by(Image.id)
    if limit is not None:
        q = q.limit(limit)
    return list(session.scalars(q))


def _caption_state_is(state: CaptionState) -> ColumnElement[bool]:
    """SQL for ``domain.enums.caption_state(...) == state``."""
    pending = Image.caption_source == CaptionSource.pending
    settled = or_(Image.caption_source.is_(None), not_(pending))
    ok = and_(settled, Image.caption_error.is_(None))
    if state == CaptionState.pending:
        return pending
    if state == CaptionState.failed:
        return and_(settled, Image.caption_error.is_not(None))
    if state == CaptionState.missing:
        return and_(ok, Image.caption.is_(None))
    manual = Image.caption_source == CaptionSource.manual
    if state == CaptionState.manual:
        return and_(ok, Image.caption.is_not(None), manual)
    return and_(ok, Image.caption.is_not(None), or_(Image.caption_source.is_(None), not_(manual)))


def find_images(
    session: Session,
    dataset_id: int,
    *,
    caption_state: CaptionState | None = None,
    search: str | None = None,
    only_ids: set[int] | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> tuple[list[Image], int]:
    """A page of the dataset's images (id order) matching the filters, and how many match in all.
    ``search``: case-insensitive substring of the name or the caption's JSON text. ``only_ids``
    (a readiness flag's images) is applied here in Python: it may hold thousands of ids."""
    q = select(Image).where(Image.dataset_id == dataset_id)
    if caption_state is not None:
        q = q.where(_caption_state_is(caption_state))
    if search:
        term = search.lower()
        q = q.where(
            or_(
                func.lower(Image.image_name).contains(term, autoescape=True),
                func.lower(Image.caption).contains(term, autoescape=True),
            )
        )
    if only_ids is not None:
        rows = [i for i in session.scalars(q.order_by(Image.id)) if i.id in only_ids]
        end = None if limit is None else offset + limit
        return rows[offset:end], len(rows)
    total = int(session.scalar(select(func.count()).select_from(q.subquery())) or 0)
    q = q.order_by(Image.id).offset(offset)
    if limit is not None:
        q = q.limit(limit)
    return list(session.scalars(q)), total


def images_with_ids(session: Session, dataset_id: int, image_ids: list[int]) -> list[Image]:
    """The dataset's images among ``image_ids`` (the ids are checked in chunks)."""
    found: list[Image] = []
    for i in range(0, len(image_ids), 500):
        part = image_ids[i : i + 500]
        found.extend(session.scalars(select(Image).where(Image.dataset_id == dataset_id, Image.id.in_(part))))
    return found


def delete_images(session: Session, images: list[Image]) -> None:
    ids = [i.id for i in images]
    for i in range(0, len(ids), 500):
        session.execute(
            delete(Image).where(Image.id.in_(ids[i : i + 500])).execution_options(synchronize_session=False)
        )
    session.flush()


def keys_of_dataset(session: Session, dataset_id: int) -> list[str]:
    rows = session.execute(select(Image.blob_key, Image.thumbnail_key).where(Image.dataset_id == dataset_id))
    return [k for pair in rows for k in pair]


def keys_of_project(session: Session, project_id: int) -> list[str]:
    rows = session.execute(
        select(Image.blob_key, Image.thumbnail_key)
        .join(Dataset, Dataset.id == Image.dataset_id)
        .where(Dataset.project_id == project_id)
    )
    return [k for pair in rows for k in pair]


def referenced_keys(session: Session, keys: Iterable[str]) -> set[str]:
    """Which of ``keys`` some image row still uses (clones share blobs with their source)."""
    wanted = list(set(keys))
    found: set[str] = set()
    for i in range(0, len(wanted), 500):
        part = wanted[i : i + 500]
        q = select(Image.blob_key, Image.thumbnail_key).where(
            or_(Image.blob_key.in_(part), Image.thumbnail_key.in_(part))
        )
        for blob_key, thumb_key in session.execute(q):
            found.update((blob_key, thumb_key))
    return found & set(wanted)


def set_caption_pending(session: Session, image_ids: list[int]) -> None:
    if image_ids:
        session.execute(
            update(Image)
            .where(Image.id.in_(image_ids))
            .values(caption_source="pending", caption_error=None)
            .execution_options(synchronize_session=False)
        )


def delete_image(session: Session, image: Image) -> None:
    session.delete(image)
    session.flush()


def caption_gaps(session: Session, dataset_id: int) -> tuple[int, int]:
    """(images whose caption is being made, images with no caption and none coming) of a dataset."""
    pending = session.scalar(
        select(func.count(Image.id)).where(Image.dataset_id == dataset_id, Image.caption_source == "pending")
    )
    missing = session.scalar(
        select(func.count(Image.id)).where(
            Image.dataset_id == dataset_id,
            Image.caption.is_(None),
            or_(Image.caption_source.is_(None), Image.caption_source != "pending"),
        )
    )
    return int(pending or 0), int(missing or 0)
