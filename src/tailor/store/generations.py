"""The generation history of projects (``generations`` table)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tailor.store.tables import Generation, GenerationRequest


def add_generation(session: Session, **values: Any) -> Generation:
    row = Generation(**values)
    session.add(row)
    session.flush()
    return row


def request_of_job(session: Session, job_id: int) -> GenerationRequest | None:
    return session.scalar(select(GenerationRequest).where(GenerationRequest.job_id == job_id))


def has_request(session: Session, request_id: str) -> bool:
    return session.scalar(select(Generation.id).where(Generation.request_id == request_id)) is not None


def list_page(
    session: Session, organization_id: int, project_id: int, *, offset: int, limit: int
) -> tuple[list[Generation], int]:
    """One page of a project's history, newest first, and the number of entries in all.

    The caller has checked that ``project_id`` is ``organization_id``'s, and every entry of a project
    is its organization's: filtering on the project alone lets the count and the skipped rows of a
    deep page read the (project, id) index only."""
    del organization_id  # scoped by the project (see above)
    total = session.scalar(select(func.count(Generation.id)).where(Generation.project_id == project_id)) or 0
    q = (
        select(Generation)
        .where(Generation.project_id == project_id)
        .order_by(Generation.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return list(session.scalars(q)), int(total)


def get_generation(
    session: Session, organization_id: int, project_id: int, generation_id: int
) -> Generation | None:
    return session.scalar(
        select(Generation).where(
            Generation.id == generation_id,
            Generation.organization_id == organization_id,
            Generation.project_id == project_id,
        )
    )


def delete_generation(session: Session, row: Generation) -> None:
    session.delete(row)
    session.flush()


def image_keys(session: Session, organization_id: int) -> set[str]:
    """The image files the organization's history entries name (the sweeper keeps them)."""
    q = select(Generation.image_key).where(Generation.organization_id == organization_id)
    return set(session.scalars(q))
