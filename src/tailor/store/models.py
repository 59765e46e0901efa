"""Tailored models: queries and writes on the ``models`` table."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tailor.domain.models import new_model_prefix
from tailor.store.tables import Dataset, Image, Job, Project, TailoredModel


def get_model(session: Session, organization_id: int, model_id: int) -> TailoredModel | None:
    """The model with this id in this organization, or None (another org's model is not found)."""
    return session.scalar(
        select(TailoredModel).where(
            TailoredModel.id == model_id, TailoredModel.organization_id == organization_id
        )
    )


def get_model_by_id(session: Session, model_id: int) -> TailoredModel | None:
    """The model by id, any organization (for workers, which act for the job's organization)."""
    return session.get(TailoredModel, model_id)


def list_models(
    session: Session,
    organization_id: int,
    *,
    project_id: int | None = None,
    status: str | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> tuple[list[TailoredModel], int]:
    """A page of the organization's models, newest first, and the total count."""
    q = select(TailoredModel).where(
        TailoredModel.organization_id == organization_id, TailoredModel.status != "Deleted"
    )
    if project_id is not None:
        q = q.where(TailoredModel.project_id == project_id)
    if status is not None:
        q = q.where(TailoredModel.status == status)
    total = session.scalar(select(func.count()).select_from(q.subquery())) or 0
    q = q.order_by(TailoredModel.id.desc()).offset(offset)
    if limit is not None:
        q = q.limit(limit)
    return list(session.scalars(q)), int(total)


def models_of_dataset(session: Session, dataset_id: int) -> list[TailoredModel]:
    return list(session.scalars(select(TailoredModel).where(TailoredModel.dataset_id == dataset_id)))


def models_of_project(session: Session, project_id: int) -> list[TailoredModel]:
    return list(session.scalars(select(TailoredModel).where(TailoredModel.project_id == project_id)))


def add_model(session: Session, **values: Any) -> TailoredModel:
    """Insert a model; its blob prefix names its organization, its new id and a random part."""
    model = TailoredModel(**values, blob_prefix="")
    session.add(model)
    session.flush()
    model.blob_prefix = new_model_prefix(model.organization_id, model.id)
    session.flush()
    return model


def delete_model(session: Session, model: TailoredModel) -> None:
    session.delete(model)
    session.flush()


TRAINING_STATUSES = ("InProgress", "Stopping")


def training_on_dataset(session: Session, dataset_id: int) -> bool:
    """Whether a model is training (InProgress or Stopping) on this dataset."""
    q = select(TailoredModel.id).where(
        TailoredModel.dataset_id == dataset_id, TailoredModel.status.in_(TRAINING_STATUSES)
    )
    return session.scalar(q.limit(1)) is not None


def training_in_project(session: Session, project_id: int) -> bool:
    """Whether a model of this project is training (InProgress or Stopping)."""
    q = select(TailoredModel.id).where(
        TailoredModel.project_id == project_id, TailoredModel.status.in_(TRAINING_STATUSES)
    )
    return session.scalar(q.limit(1)) is not None


# --- what training reads from the dataset side (read-only here) ----------------------------------


def get_dataset(session: Session, organization_id: int, dataset_id: int) -> Dataset | None:
    return session.scalar(
        select(Dataset).where(Dataset.id == dataset_id, Dataset.organization_id == organization_id)
    )


def dataset_ids(session: Session) -> set[int]:
    """The ids of every dataset there is (the training cache drops the others)."""
    return set(session.scalars(select(Dataset.id)))


def get_project(session: Session, organization_id: int, project_id: int) -> Project | None:
    return session.scalar(
        select(Project).where(Project.id == project_id, Project.organization_id == organization_id)
    )


def dataset_images(session: Session, dataset_id: int) -> list[Image]:
    """The dataset's images in upload order (training's stable data order)."""
    return list(session.scalars(select(Image).where(Image.dataset_id == dataset_id).order_by(Image.id)))


def count_images(session: Session, dataset_id: int) -> tuple[int, int]:
    """(images, images without a caption) of a dataset."""
    total = session.scalar(select(func.count()).where(Image.dataset_id == dataset_id)) or 0
    missing = (
        session.scalar(select(func.count()).where(Image.dataset_id == dataset_id, Image.caption.is_(None)))
        or 0
    )
    return int(total), int(missing)


def get_job(session: Session, job_id: int) -> Job | None:
    return session.get(Job, job_id)


def recent_training_records(
    session: Session, training_version: str, *, limit: int = 50
) -> list[dict[str, Any]]:
    """The ``training_progress`` records of this installation's latest trained models of a family
    (every organization: they measure the workers, not the tenant), newest first."""
    q = (
        select(TailoredModel.training_progress)
        .where(
            TailoredModel.training_version == training_version,
            TailoredModel.status.in_(("Completed", "Stopped", "InProgress", "Stopping", "Failed")),
            TailoredModel.training_progress.is_not(None),
        )
        .order_by(TailoredModel.id.desc())
        .limit(limit)
    )
    return [p for p in session.scalars(q) if isinstance(p, dict)]
