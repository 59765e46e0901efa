"""What per-organization quotas count: jobs still queued or running, and the lock that makes a
count and the insert that follows it one step."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tailor.domain.enums import JobState
from tailor.store.tables import GenerationRequest, Job, Organization, TailoredModel

ACTIVE_JOB_STATES = (JobState.queued.value, JobState.running.value)


def lock_organization(session: Session, organization_id: int) -> None:
    """Hold the organization's row until the transaction ends, so that concurrent quota checks of
    one organization run one after the other.

    PostgreSQL: ``SELECT … FOR NO KEY UPDATE``, which waits for another holder but not for rows
    that merely reference the organization (inserting a project or a job never waits on it).
    SQLite: writers already hold the database's write lock from ``BEGIN IMMEDIATE`` (see
    ``store.db``), and the dialect drops the clause.
    """
    session.execute(
        select(Organization.id).where(Organization.id == organization_id).with_for_update(key_share=True)
    )


def count_active_requests(session: Session, organization_id: int) -> int:
    """v2 requests of the organization whose job is queued or running."""
    q = (
        select(func.count())
        .select_from(GenerationRequest)
        .join(Job, Job.id == GenerationRequest.job_id)
        .where(GenerationRequest.organization_id == organization_id, Job.state.in_(ACTIVE_JOB_STATES))
    )
    return int(session.scalar(q) or 0)


def count_active_trainings(session: Session, organization_id: int) -> int:
    """Models of the organization whose training job is queued or running."""
    q = (
        select(func.count())
        .select_from(TailoredModel)
        .join(Job, Job.id == TailoredModel.job_id)
        .where(TailoredModel.organization_id == organization_id, Job.state.in_(ACTIVE_JOB_STATES))
    )
    return int(session.scalar(q) or 0)
