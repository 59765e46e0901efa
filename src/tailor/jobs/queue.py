"""The job queue, kept in the ``jobs`` table.

Claiming is atomic: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, a ``BEGIN IMMEDIATE`` write transaction on
SQLite. Lower ``priority`` values are claimed first (interactive work before long work), then oldest.
Whether and when a failed attempt goes back to the queue is the kind's retry policy
(``tailor.domain.jobs``), read from the registry. Every transition to a terminal state runs the
registry's hooks in the same transaction (the kind's failure hook; the request's webhook).

Times are always computed in Python (UTC) and compared in SQL as bound values, so SQLite (which keeps
naive ISO strings) and PostgreSQL (``timestamptz``) order them the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Engine, or_, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from tailor.domain.enums import TERMINAL_JOB_STATES, JobState
from tailor.domain.jobs import Failure, FailureKind, JobKind
from tailor.jobs.registry import Registry
from tailor.store.db import immediate_transaction, is_sqlite, session_scope
from tailor.store.leases import new_token as new_claim_token
from tailor.store.tables import Job

P = TypeVar("P")


def now() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime | None) -> datetime | None:
    """Datetimes read back from SQLite are naive (but UTC): make them aware."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def enqueue(
    session: Session,
    kind: JobKind[P],
    payload: P,
    *,
    organization_id: int | None,
    run_after: datetime | None = None,
) -> Job:
    """Add a ``kind`` job in the caller's transaction, so it commits (or not) with the records it
    serves. Its priority is the kind's; its attempts are set from the kind's policy when claimed."""
    job = Job(
        kind=kind.name,
        payload=kind.dump(payload),
        organization_id=organization_id,
        priority=int(kind.priority),
        max_attempts=kind.retry.max_attempts or 1,
        state=JobState.queued,
        attempts=0,
        cancel_requested=False,
        run_after=run_after,
    )
    session.add(job)
    session.flush()
    return job


class JobQueue:
    """Claim, heartbeat and finish jobs. One instance per process; thread-safe (no shared session).

    ``registry`` gives each kind's retry policy and the hooks run when a job ends; ``settings`` the
    values those policies read (attempts, backoff)."""

    def __init__(
        self, engine: Engine, sessions: sessionmaker[Session], registry: Registry, settings: Any
    ) -> None:
        self.engine = engine
        self.sessions = sessions
        self.registry = registry
        self.settings = settings
        self._sqlite = is_sqlite(str(engine.url))

    def _ended(self, s: Session, job: Job) -> None:
        job.finished_at = now()
        s.flush()
        self.registry.settle(s, job, completed=job.state == JobState.completed)

    # --- claiming --------------------------------------------------------------------------------
    def _runnable(self, kinds: Iterable[str] | None) -> Any:
        q = (
            select(Job)
            .where(Job.state == JobState.queued)
            .where(or_(Job.run_after.is_(None), Job.run_after <= now()))
        )
        if kinds is not None:
            q = q.where(Job.kind.in_(list(kinds)))
        return q.order_by(Job.priority, Job.id).limit(1)

    def claim(self, worker_id: str, kinds: Iterable[str] | None = None) -> Job | None:
        """Take the next runnable job for this worker (of ``kinds``, when given), or None."""
        kinds = None if kinds is None else sorted(kinds)
        if self._sqlite:
            # A cheap read first: idle workers must not queue up for SQLite's single write lock.
            with self.sessions() as s:
                if s.scalar(self._runnable(kinds).with_only_columns(Job.id)) is None:
                    return None
        with immediate_transaction(self.engine) as s:
            self._relaxed_commit(s)
            q = self._runnable(kinds)
            if not self._sqlite:
                q = q.with_for_update(skip_locked=True)
            job = s.scalar(q)
            if job is None:
                return None
            t = now()
            job.state = JobState.running
            job.worker_id = worker_id
            job.claim_token = new_claim_token()  # this attempt's lease (store/leases.py)
            job.attempts += 1
            if job.kind in self.registry:
                job.max_attempts = self.registry.kind(job.kind).retry.attempts(self.settings)
            job.started_at = t
            job.heartbeat_at = t
            job.run_after = None
            s.flush()
            s.expunge(job)
            return job

    def _relaxed_commit(self, s: Session) -> None:
        """On PostgreSQL, don't wait for the WAL flush: losing this write in a server crash only
        leaves the job queued (claim) or its heartbeat older (heartbeat), both of which recover."""
        if not self._sqlite:
            s.execute(text("SET LOCAL synchronous_commit = off"))

    # --- reading ---------------------------------------------------------------------------------
    def get(self, job_id: int) -> Job | None:
        with self.sessions() as s:
            return s.get(Job, job_id)

    def is_terminal(self, job_id: int) -> bool:
        job = self.get(job_id)
        return job is None or job.state in TERMINAL_JOB_STATES

    # --- while running ---------------------------------------------------------------------------
    def heartbeat(
        self,
        job_id: int,
        worker_id: str,
        progress: dict[str, Any] | None = None,
        *,
        claim_token: str | None = None,
    ) -> bool:
        """Refresh the job's heartbeat; returns False when cancel was requested or the job was lost
        (with ``claim_token``: also when it was claimed again since, see store/leases.py)."""
        values: dict[str, Any] = {"heartbeat_at": now()}
        if progress is not None:
            values["progress"] = progress
        mine = [Job.id == job_id, Job.worker_id == worker_id, Job.state == JobState.running]
        if claim_token is not None:
            mine.append(Job.claim_token == claim_token)
        with session_scope(self.sessions) as s:
            self._relaxed_commit(s)
            n = s.execute(update(Job).where(*mine).values(**values)).rowcount  # type: ignore[attr-defined]
            if not n:
                return False
            cancel = s.scalar(select(Job.cancel_requested).where(Job.id == job_id))
            return not cancel

    def touch(self, job_ids: Iterable[int], worker_id: str) -> set[int]:
        """Refresh the heartbeat of this worker's running jobs; returns those that should stop
        (cancel requested, or no longer this worker's)."""
        ids = list(job_ids)
        if not ids:
            return set()
        with session_scope(self.sessions) as s:
            s.execute(
                update(Job)
                .where(Job.id.in_(ids), Job.worker_id == worker_id, Job.state == JobState.running)
                .values(heartbeat_at=now())
            )
            rows = s.execute(
                select(Job.id, Job.cancel_requested).where(
                    Job.id.in_(ids), Job.worker_id == worker_id, Job.state == JobState.running
                )
            ).all()
        alive = {r.id for r in rows if not r.cancel_requested}
        return set(ids) - alive

    # --- finishing -------------------------------------------------------------------------------
    def _locked_running(self, s: Session, job_id: int, worker_id: str) -> Job | None:
        q = select(Job).where(Job.id == job_id)
        if not self._sqlite:
            q = q.with_for_update()
        job = s.scalar(q)
        if job is None or job.worker_id != worker_id or job.state != JobState.running:
            return None
        return job

    def complete(self, job_id: int, worker_id: str, result: dict[str, Any] | None) -> bool:
        """Record success; False when the job was no longer this worker's (reaped, say)."""
        with immediate_transaction(self.engine) as s:
            job = self._locked_running(s, job_id, worker_id)
            if job is None:
                return False
            job.state = JobState.completed
            job.result = result
            job.error = None
            job.error_code = None
            self._ended(s, job)
            return True

    def fail(self, job_id: int, worker_id: str, failure: Failure) -> str | None:
        """Record a failed attempt: back to the queue, after the kind's backoff, while the failure is
        transient and attempts remain; else failed (or cancelled, when cancel was requested).
        Returns the new state, None if the job was no longer this worker's."""
        with immediate_transaction(self.engine) as s:
            job = self._locked_running(s, job_id, worker_id)
            if job is None:
                return None
            job.error = failure.message
            job.error_code = failure.code
            if failure.retryable and job.attempts < job.max_attempts and not job.cancel_requested:
                job.state = JobState.queued
                job.worker_id = None
                delay = self.registry.kind(job.kind).retry.delay_s(job.attempts, self.settings)
                job.run_after = now() + timedelta(seconds=delay) if delay else None
            else:
                cancelled = job.cancel_requested or failure.kind == FailureKind.cancelled
                job.state = JobState.cancelled if cancelled else JobState.failed
                self._ended(s, job)
            return str(job.state)

    def release(self, job_id: int, worker_id: str) -> bool:
        """Give a running job back to the queue without counting the attempt (graceful shutdown)."""
        with immediate_transaction(self.engine) as s:
            job = self._locked_running(s, job_id, worker_id)
            if job is None:
                return False
            if job.cancel_requested:
                job.state = JobState.cancelled
                job.error = "cancelled"
                self._ended(s, job)
                return True
            job.state = JobState.queued
            job.worker_id = None
            job.attempts = max(job.attempts - 1, 0)
            return True

    def cancel(self, job_id: int) -> str | None:
        """Cancel a queued job at once; ask a running one to stop. Returns the resulting state."""
        with immediate_transaction(self.engine) as s:
            q = select(Job).where(Job.id == job_id)
            if not self._sqlite:
                q = q.with_for_update()
            job = s.scalar(q)
            if job is None:
                return None
            if job.state == JobState.queued:
                job.state = JobState.cancelled
                job.error = "cancelled"
                self._ended(s, job)
            elif job.state == JobState.running:
                job.cancel_requested = True
            return str(job.state)

    # --- recovery --------------------------------------------------------------------------------
    def reap(self, timeout_s: float) -> list[tuple[int, str]]:
        """Return running jobs whose heartbeat is older than ``timeout_s`` (dead worker) to the queue
        at once, or fail them when no attempt is left. Returns ``[(job_id, new_state)]``."""
        cutoff = now() - timedelta(seconds=timeout_s)
        out: list[tuple[int, str]] = []
        with immediate_transaction(self.engine) as s:
            q = select(Job).where(Job.state == JobState.running, Job.heartbeat_at < cutoff)
            if not self._sqlite:
                q = q.with_for_update(skip_locked=True)
            for job in s.scalars(q).all():
                lost = f"worker {job.worker_id} stopped responding while running this job"
                job.worker_id = None
                if job.cancel_requested:
                    job.state = JobState.cancelled
                    job.error = "cancelled"
                elif job.attempts < job.max_attempts:
                    job.state = JobState.queued
                    job.error = lost
                    job.run_after = None
                else:
                    job.state = JobState.failed
                    job.error = f"{lost}; giving up after {job.attempts} attempt(s)"
                if job.state != JobState.queued:
                    self._ended(s, job)
                out.append((job.id, str(job.state)))
        return out
