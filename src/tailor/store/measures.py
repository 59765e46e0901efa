"""Readiness measures of images (``image_measures``), written at ingest, read by the report."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tailor.store.tables import Image, ImageMeasure


def save_measures(
    session: Session, image_id: int, *, phash: str, sharpness: float, source_width: int, source_height: int
) -> ImageMeasure:
    row = session.get(ImageMeasure, image_id)
    if row is None:
        row = ImageMeasure(image_id=image_id)
        session.add(row)
    row.phash = phash
    row.sharpness = sharpness
    row.source_width = source_width
    row.source_height = source_height
    session.flush()
    return row


def copy_measures(session: Session, from_image_id: int, to_image_id: int) -> None:
    """Give a cloned image its source's measures (same pixels, same measures)."""
    src = session.get(ImageMeasure, from_image_id)
    if src is not None:
        save_measures(
            session,
            to_image_id,
            phash=src.phash,
            sharpness=src.sharpness,
            source_width=src.source_width,
            source_height=src.source_height,
        )


def measures_of_dataset(session: Session, dataset_id: int) -> dict[int, ImageMeasure]:
    q = (
        select(ImageMeasure)
        .join(Image, Image.id == ImageMeasure.image_id)
        .where(Image.dataset_id == dataset_id)
    )
    return {m.image_id: m for m in session.scalars(q)}
