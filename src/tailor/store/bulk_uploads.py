"""Bulk uploads: queries and writes on the ``bulk_uploads`` table."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tailor.store.tables import BulkUpload


def add_bulk_upload(session: Session, organization_id: int, dataset_id: int, **values: Any) -> BulkUpload:
    row = BulkUpload(organization_id=organization_id, dataset_id=dataset_id, **values)
    session.add(row)
    session.flush()
    return row


def latest_for_dataset(session: Session, dataset_id: int) -> BulkUpload | None:
    q = select(BulkUpload).where(BulkUpload.dataset_id == dataset_id).order_by(BulkUpload.id.desc()).limit(1)
    return session.scalar(q)


def get_bulk_upload(session: Session, bulk_id: int) -> BulkUpload | None:
    return session.get(BulkUpload, bulk_id)
