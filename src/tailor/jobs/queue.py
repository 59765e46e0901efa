"""The job queue, kept in the ``jobs`` table.

Claiming is atomic: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, a ``BEGIN IMMEDIATE`` write transaction on
SQLite. Lower ``priority`` values are claimed first (interactive work before long work), then oldest.
A failed attempt goes back to the queue with an exponential delay (``run_after``) while attempts
remain. Every transition to a terminal state also schedules the request's webhook, if it has one, in
the same transaction.

Times are always computed in Python (UTC) and compared in SQL as bound values, so SQLite (which keeps
naive ISO strings) and PostgreSQL (``timestamptz``) order them the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, or_, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from tailor.domain.enums import TERMINAL_JOB_STATES, JobState
from tailor.jobs import handlers
from tailor.store import requests as request_store
from tailor.store.db import immediate_transaction, is_sqlite, session_scope
from tailor.store.leases import new_token as new_claim_token
from tailor.store.tables import Job

WEBHOOK_KIND = "webhook"
MAX_BACKOFF_S = 300.0
# Webhook jobs retry on their own schedule; the handler enforces ``settings.webhook_max_attempts``.
WEBHOOK_JOB_MAX_ATTEMPTS = 100


class Priority:
    """Claim order: lower first."""

    INTERACTIVE = 10  # generation, structured prompts, VLM calls a user waits on
    BACKGROUND = 50  # captions, bulk uploads
    LONG = 100  # training, video


def now() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime | None) -> datetime | None:
    """Datetimes read back from SQLite are naive (but UTC): make them aware."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def backoff_delay(attempts: int, base_s: float) -> float:
    """Delay before the next attempt after ``attempts`` failed ones: base, 2x base, 4x base..."""
    if base_s <= 0:
        return 0.0
    return float(min(base_s * 2 ** max(attempts - 1, 0), MAX_BACKOFF_S))


def enqueue(
    session: Session,
    kind: str,
    payload: dict[str, Any],
    *,
    organization_id: int | None,
    priority: int = Priority.BACKGROUND,
    max_attempts: int = 3,
    run_after: datetime | None = None,
) -> Job:
    """Add a job in the caller's transaction, so it commits (or not) with the records it serves."""
    job = Job(
        kind=kind,
        payload=payload,
        organization_id=organization_id,
        priority=priority,
        max_attempts=max(1, max_attempts),
        state=JobState.queued,
        attempts=0,
        cancel_requested=False,
        run_after=run_after,
    )
    session.add(job)
    session.flush()
    return job


def after_terminal(session: Session, job: Job) -> None:
    """Settle the records of a job that did not complete (its kind's failure hook), and schedule the
    webhook of the request served by ``job`` (if any), in the caller's transaction."""
    if job.state != JobState.completed:
        hook = handlers.failure_hook(job.kind)
        if hook is not None:
            hook(session, job)
    req = request_store.take_pending_webhook(session, job.id)
    if req is not None:
        enqueue(
            session,
            WEBHOOK_KIND,
            {"request_id": req.request_id},
            organization_id=req.organization_id,
            priority=Priority.INTERACTIVE,
            max_attempts=WEBHOOK_JOB_MAX_ATTEMPTS,
        )


class JobQueue:
    """Claim, heartbeat and finish jobs. One instance per process; thread-safe (no shared session)."""

    def __init__(self, engine: Engine, sessions: sessionmaker[Session]) -> None:
        self.engine = engine
        self.sessions = sessions
        self._sqlite = is_sqlite(str(engine.url))

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
            job.finished_at = now()
            s.flush()
            after_terminal(s, job)
            return True

    def fail(
        self,
        job_id: int,
        worker_id: str,
        error: str,
        *,
        retry: bool,
        code: int | None = None,
        backoff_s: float = 0.0,
    ) -> str | None:
        """Record a failure: back to the queue while attempts remain (and ``retry``), else failed
        (or cancelled, when cancel was requested). Returns the new state, None if not ours."""
        with immediate_transaction(self.engine) as s:
            job = self._locked_running(s, job_id, worker_id)
            if job is None:
                return None
            job.error = error
            job.error_code = code
            if retry and job.attempts < job.max_attempts and not job.cancel_requested:
                job.state = JobState.queued
                job.worker_id = None
                delay = backoff_delay(job.attempts, backoff_s)
                job.run_after = now() + timedelta(seconds=delay) if delay else None
            else:
                job.state = JobState.cancelled if job.cancel_requested else JobState.failed
                job.finished_at = now()
                s.flush()
                after_terminal(s, job)
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
                job.finished_at = now()
                s.flush()
                after_terminal(s, job)
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
                job.finished_at = now()
                s.flush()
                after_terminal(s, job)
            elif job.state == JobState.running:
                job.cancel_requested = True
            return str(job.state)

    # --- recovery --------------------------------------------------------------------------------
    def reap(self, timeout_s: float, *, backoff_s: float = 0.0) -> list[tuple[int, str]]:
        """Return running jobs whose heartbeat is older than ``timeout_s`` (dead worker) to the queue,
        or fail them when no attempt is left. Returns ``[(job_id, new_state)]``."""
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
                    delay = backoff_delay(job.attempts, backoff_s)
                    job.run_after = now() + timedelta(seconds=delay) if delay else None
                else:
                    job.state = JobState.failed
                    job.error = f"{lost}; giving up after {job.attempts} attempt(s)"
                if job.state != JobState.queued:
                    job.finished_at = now()
                    s.flush()
                    after_terminal(s, job)
                out.append((job.id, str(job.state)))
        return out
