"""Images: queries and writes on the ``images`` table, and which blob keys are still referenced."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

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
