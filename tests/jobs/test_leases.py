"""Leases on SQLite and PostgreSQL: every claim fences the writes of the attempts before it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from tailor.bootstrap import Runtime
from tailor.jobs.queue import enqueue, now
from tailor.store.db import session_scope
from tailor.store.leases import LeaseLost, fenced, holds, lease_of
from tailor.store.tables import Job
from tests.jobs.helpers import NOOP, Args


def _add(rt: Runtime) -> int:
    with session_scope(rt.sessions) as s:
        return enqueue(s, NOOP, Args(), organization_id=None).id


def _progress(rt: Runtime, job_id: int) -> object:
    return rt.queue.get(job_id).progress  # type: ignore[union-attr]


def test_a_reaped_attempt_loses_its_lease(runtime: Runtime) -> None:
    job_id = _add(runtime)
    first = runtime.queue.claim("w1")
    assert first is not None
    lease = lease_of(first, "w1")
    assert lease is not None
    with fenced(runtime.sessions, lease) as s:
        s.execute(update(Job).where(Job.id == job_id).values(progress={"by": "first"}))
    assert _progress(runtime, job_id) == {"by": "first"}

    with session_scope(runtime.sessions) as s:
        s.execute(update(Job).where(Job.id == job_id).values(heartbeat_at=now() - timedelta(seconds=60)))
    assert runtime.queue.reap(5.0) == [(job_id, "queued")]
    with pytest.raises(LeaseLost), fenced(runtime.sessions, lease) as s:  # queued: nobody holds it
        s.execute(update(Job).where(Job.id == job_id).values(progress={"by": "reaped"}))
    second = runtime.queue.claim("w2")
    assert second is not None and second.claim_token != first.claim_token
    with pytest.raises(LeaseLost), fenced(runtime.sessions, lease) as s:
        s.execute(update(Job).where(Job.id == job_id).values(progress={"by": "reaped"}))
    assert _progress(runtime, job_id) == {"by": "first"}  # the refused write did not commit
    # the old attempt's heartbeat carries its token: refused, and its progress is not written
    assert runtime.queue.heartbeat(job_id, "w1", {"by": "late"}, claim_token=first.claim_token) is False
    assert runtime.queue.heartbeat(job_id, "w2", {"by": "second"}, claim_token=second.claim_token) is True
    assert _progress(runtime, job_id) == {"by": "second"}


def test_the_same_worker_claiming_again_gets_a_new_lease(runtime: Runtime) -> None:
    """Released (graceful shutdown) and claimed again by a worker with the same id and the same
    attempt count: still a new lease, so the earlier attempt stays fenced off."""
    job_id = _add(runtime)
    first = runtime.queue.claim("w1")
    assert first is not None and runtime.queue.release(job_id, "w1")
    again = runtime.queue.claim("w1")
    assert again is not None and again.attempts == first.attempts
    old, new = lease_of(first, "w1"), lease_of(again, "w1")
    assert old is not None and new is not None
    with session_scope(runtime.sessions) as s:
        assert not holds(s, old) and holds(s, new)
    runtime.queue.complete(job_id, "w1", {})
    with session_scope(runtime.sessions) as s:
        assert not holds(s, new)  # a finished job has no lease left
