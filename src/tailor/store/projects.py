"""Projects: queries and writes on the ``projects`` table (and the model checks that guard delete)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from tailor.domain.datasets import TRAINING_STATUSES
from tailor.store.tables import Project, TailoredModel


def add_project(session: Session, organization_id: int, **values: Any) -> Project:
    project = Project(organization_id=organization_id, **values)
    session.add(project)
    session.flush()
    return project


def get_project(session: Session, organization_id: int, project_id: int) -> Project | None:
    """The project in this organization, or None (another organization's project is not found)."""
    return session.scalar(
        select(Project).where(Project.id == project_id, Project.organization_id == organization_id)
    )


def list_projects(session: Session, organization_id: int) -> list[Project]:
    q = select(Project).where(Project.organization_id == organization_id).order_by(Project.id.desc())
    return list(session.scalars(q))


def has_training_model(session: Session, project_id: int) -> bool:
    q = select(
        exists().where(
            TailoredModel.project_id == project_id, TailoredModel.status.in_(list(TRAINING_STATUSES))
        )
    )
    return bool(session.scalar(q))


def delete_project(session: Session, project: Project) -> None:
    """Delete the project; datasets, images and models go with it (ON DELETE CASCADE)."""
    session.delete(project)
    session.flush()
