"""Datasets: queries and writes on the ``datasets`` table, its row lock, and model look-ups."""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, func, select, update
from sqlalchemy.orm import Session

from tailor.domain.datasets import TRAINING_STATUSES
from tailor.store.tables import Dataset, Image, TailoredModel


def add_dataset(session: Session, organization_id: int, **values: Any) -> Dataset:
    dataset = Dataset(organization_id=organization_id, **values)
    session.add(dataset)
    session.flush()
    return dataset


def get_dataset(session: Session, organization_id: int, dataset_id: int) -> Dataset | None:
    return session.scalar(
        select(Dataset).where(Dataset.id == dataset_id, Dataset.organization_id == organization_id)
    )


def get_dataset_by_id(session: Session, dataset_id: int) -> Dataset | None:
    """Any organization's dataset (workers act for the job's organization)."""
    return session.get(Dataset, dataset_id)


def lock_dataset(session: Session, organization_id: int, dataset_id: int) -> Dataset | None:
    """Take the dataset's write lock first thing in the transaction, then read it.

    A no-op UPDATE holds the row lock on PostgreSQL and the database write lock on SQLite, so
    uploads, deletes and clones of one dataset are serialised (image caps, shared blob keys).
    """
    res = session.execute(
        update(Dataset)
        .where(Dataset.id == dataset_id, Dataset.organization_id == organization_id)
        .values(updated_at=Dataset.updated_at)
        .execution_options(synchronize_session=False)
    )
    if res.rowcount == 0:  # type: ignore[attr-defined]
        return None
    dataset = session.get(Dataset, dataset_id, populate_existing=True)
    return dataset


def list_datasets(session: Session, organization_id: int, *, project_id: int | None = None) -> list[Dataset]:
    q = select(Dataset).where(Dataset.organization_id == organization_id)
    if project_id is not None:
        q = q.where(Dataset.project_id == project_id)
    return list(session.scalars(q.order_by(Dataset.id.desc())))


def image_counts(session: Session, dataset_ids: list[int]) -> dict[int, int]:
    if not dataset_ids:
        return {}
    q = (
        select(Image.dataset_id, func.count(Image.id))
        .where(Image.dataset_id.in_(dataset_ids))
        .group_by(Image.dataset_id)
    )
    counts = {int(d): int(n) for d, n in session.execute(q)}
    return {d: counts.get(d, 0) for d in dataset_ids}


def count_images(session: Session, dataset_id: int) -> int:
    return int(session.scalar(select(func.count(Image.id)).where(Image.dataset_id == dataset_id)) or 0)


def has_training_model(session: Session, dataset_id: int) -> bool:
    q = select(
        exists().where(
            TailoredModel.dataset_id == dataset_id, TailoredModel.status.in_(list(TRAINING_STATUSES))
        )
    )
    return bool(session.scalar(q))


def models_by_dataset(session: Session, dataset_ids: list[int]) -> dict[int, list[TailoredModel]]:
    out: dict[int, list[TailoredModel]] = {d: [] for d in dataset_ids}
    if not dataset_ids:
        return out
    q = (
        select(TailoredModel)
        .where(TailoredModel.dataset_id.in_(dataset_ids), TailoredModel.status != "Deleted")
        .order_by(TailoredModel.id)
    )
    for m in session.scalars(q):
        if m.dataset_id is not None:
            out[m.dataset_id].append(m)
    return out


def delete_dataset(session: Session, dataset: Dataset) -> None:
    session.delete(dataset)
    session.flush()
