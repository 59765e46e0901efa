"""The job queue, kept in the ``jobs`` table.

Claiming is atomic: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, a ``BEGIN IMMEDIATE`` write transaction on
SQLite. Lower ``priority`` values are claimed first (interactive work before long work).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from tailor.domain.enums import TERMINAL_JOB_STATES, JobState
from tailor.store.db import immediate_transaction, is_sqlite, session_scope
from tailor.store.tables import Job


class Priority:
    """Claim order: lower first."""

    INTERACTIVE = 10  # generation, structured prompts, VLM calls a user waits on
    BACKGROUND = 50  # captions, bulk uploads
    LONG = 100  # training, video


def now() -> datetime:
    return datetime.now(UTC)


def enqueue(
    session: Session,
    kind: str,
    payload: dict[str, Any],
    *,
    organization_id: int | None,
    priority: int = Priority.BACKGROUND,
    max_attempts: int = 3,
) -> Job:
    """Add a job in the caller's transaction, so it commits (or not) with the records it serves."""
    job = Job(
        kind=kind,
        payload=payload,
        organization_id=organization_id,
        priority=priority,
        max_attempts=max_attempts,
        state=JobState.queued,
    )
    session.add(job)
    session.flush()
    return job


class JobQueue:
    """Claim, heartbeat and finish jobs. One instance per process; thread-safe (no shared session)."""

    def __init__(self, engine: Engine, sessions: sessionmaker[Session]) -> None:
        self.engine = engine
        self.sessions = sessions
        self._sqlite = is_sqlite(str(engine.url))

    def claim(self, worker_id: str, kinds: list[str] | None = None) -> Job | None:
        """Take the next runnable job for this worker, or None."""
        with immediate_transaction(self.engine) as s:
            q = (
                select(Job)
                .where(Job.state == JobState.queued)
                .where(or_(Job.run_after.is_(None), Job.run_after <= now()))
                .order_by(Job.priority, Job.id)
                .limit(1)
            )
            if kinds:
                q = q.where(Job.kind.in_(kinds))
            if not self._sqlite:
                q = q.with_for_update(skip_locked=True)
            job = s.scalar(q)
            if job is None:
                return None
            job.state = JobState.running
            job.worker_id = worker_id
            job.attempts += 1
            job.started_at = now()
            job.heartbeat_at = now()
            job.error = None
            s.flush()
            s.expunge(job)
            return job

    def get(self, job_id: int) -> Job | None:
        with self.sessions() as s:
            return s.get(Job, job_id)

    def heartbeat(self, job_id: int, worker_id: str, progress: dict[str, Any] | None = None) -> bool:
        """Refresh the job's heartbeat; returns False when cancel was requested or the job was lost."""
        values: dict[str, Any] = {"heartbeat_at": now()}
        if progress is not None:
            values["progress"] = progress
        with session_scope(self.sessions) as s:
            n = s.execute(
                update(Job)
                .where(Job.id == job_id, Job.worker_id == worker_id, Job.state == JobState.running)
                .values(**values)
            ).rowcount
            if not n:
                return False
            cancel = s.scalar(select(Job.cancel_requested).where(Job.id == job_id))
            return not cancel

    def complete(self, job_id: int, worker_id: str, result: dict[str, Any] | None) -> bool:
        return self._finish(job_id, worker_id, JobState.completed, result=result)

    def fail(self, job_id: int, worker_id: str, error: str, *, retry: bool) -> bool:
        """Record a failure: back to the queue while attempts remain (and ``retry``), else failed."""
        with session_scope(self.sessions) as s:
            job = s.get(Job, job_id)
            if job is None or job.worker_id != worker_id or job.state != JobState.running:
                return False
            if retry and job.attempts < job.max_attempts and not job.cancel_requested:
                job.state = JobState.queued
                job.worker_id = None
                job.error = error
            else:
                job.state = JobState.cancelled if job.cancel_requested else JobState.failed
                job.error = error
                job.finished_at = now()
            return True

    def _finish(self, job_id: int, worker_id: str, state: JobState, **values: Any) -> bool:
        with session_scope(self.sessions) as s:
            n = s.execute(
                update(Job)
                .where(Job.id == job_id, Job.worker_id == worker_id, Job.state == JobState.running)
                .values(state=state, finished_at=now(), **values)
            ).rowcount
            return bool(n)

    def cancel(self, job_id: int) -> str | None:
        """Cancel a queued job at once; ask a running one to stop. Returns the resulting state."""
        with session_scope(self.sessions) as s:
            job = s.get(Job, job_id)
            if job is None:
                return None
            if job.state == JobState.queued:
                job.state = JobState.cancelled
                job.finished_at = now()
            elif job.state == JobState.running:
                job.cancel_requested = True
            return job.state

    def is_terminal(self, job_id: int) -> bool:
        job = self.get(job_id)
        return job is None or job.state in TERMINAL_JOB_STATES
