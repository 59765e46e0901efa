"""Leases: the right of one attempt of a job to write the records that job serves.

A worker's claim stores a fresh random ``claim_token`` on the job row. The attempt holds the lease
while the row is still ``running`` for that worker with that token; once the job is reaped (its
worker presumed dead), released or finished, the next claim writes a new token and the old attempt
has lost it, even if its process is still alive (an orphan, a frozen host coming back).

A writer checks the lease in the same transaction as its write (:func:`fenced`): the job row is read
under the write lock (``BEGIN IMMEDIATE`` on SQLite) or locked (``FOR UPDATE`` on PostgreSQL), so no
reap or new claim can commit between the check and the write. A write either commits under a valid
lease or does not happen (:class:`LeaseLost`).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tailor.domain.enums import JobState
from tailor.domain.jobs import PermanentJobError
from tailor.store.db import session_scope
from tailor.store.tables import Job


class LeaseLost(PermanentJobError):
    """The job is no longer claimed by this attempt (reaped, released or finished): stop writing.
    Final for this attempt: whoever holds the job now decides its fate."""

    def __init__(self, lease: Lease) -> None:
        super().__init__(
            f"job {lease.job_id}: this attempt (worker {lease.worker_id}) no longer holds the job; "
            "it was reaped or finished elsewhere",
            code=409,
        )
        self.lease = lease


@dataclass(frozen=True)
class Lease:
    """One claim of one job: the fencing token of the attempt's writes."""

    job_id: int
    worker_id: str
    token: str


def new_token() -> str:
    return secrets.token_hex(16)


def lease_of(job: Job, worker_id: str) -> Lease | None:
    """The lease a worker got by claiming ``job`` (None for a job claimed without a token)."""
    if not job.claim_token:
        return None
    return Lease(job.id, worker_id, job.claim_token)


def holds(session: Session, lease: Lease) -> bool:
    """Whether ``lease`` is still valid; on PostgreSQL the job row stays locked until the
    transaction ends, so the answer holds for the writes that follow in it."""
    q = select(Job.worker_id, Job.state, Job.claim_token).where(Job.id == lease.job_id)
    if session.get_bind().dialect.name != "sqlite":
        q = q.with_for_update()
    row = session.execute(q).first()
    return (
        row is not None
        and row.state == JobState.running
        and row.worker_id == lease.worker_id
        and row.claim_token == lease.token
    )


def check(session: Session, lease: Lease | None) -> None:
    """Raise :class:`LeaseLost` unless ``lease`` is valid (None: not running under a lease)."""
    if lease is not None and not holds(session, lease):
        raise LeaseLost(lease)


@contextmanager
def fenced(sessions: sessionmaker[Session], lease: Lease | None) -> Iterator[Session]:
    """A transaction whose writes commit only while ``lease`` is held (checked first, in it)."""
    with session_scope(sessions) as s:
        check(s, lease)
        yield s
