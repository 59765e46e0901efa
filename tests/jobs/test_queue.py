"""The queue's rules, on SQLite and PostgreSQL: claim order, retries and backoff, cancel, reaping."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import update

from tailor.bootstrap import Runtime
from tailor.domain.enums import JobState
from tailor.domain.jobs import (
    Failure,
    FailureKind,
    JobKind,
    Priority,
)
from tailor.jobs.queue import enqueue, now
from tailor.store import jobs as job_store
from tailor.store.db import session_scope
from tailor.store.tables import Job
from tailor.worker.loop import Worker
from tests.jobs.conftest import wait_until
from tests.jobs.helpers import KINDS, MODULE, Args


def _add(rt: Runtime, kind: str, payload: dict | None = None) -> int:
    job_kind = KINDS.get(kind) or JobKind(kind, Args, Priority.INTERACTIVE)
    with session_scope(rt.sessions) as s:
        return enqueue(s, job_kind, Args(**(payload or {})), organization_id=None).id


def test_interactive_work_is_claimed_before_long_work_then_oldest_first(runtime: Runtime) -> None:
    long1 = _add(runtime, "test_noop_long")
    bg = _add(runtime, "test_noop_background")
    inter1 = _add(runtime, "test_noop")
    inter2 = _add(runtime, "test_noop")
    order = []
    while (job := runtime.queue.claim("w1")) is not None:
        order.append(job.id)
    assert order == [inter1, inter2, bg, long1]


def test_claim_only_takes_known_kinds(runtime: Runtime) -> None:
    other = _add(runtime, "someone_elses_kind")
    mine = _add(runtime, "test_noop")
    job = runtime.queue.claim("w1", ["test_noop"])
    assert job is not None and job.id == mine
    assert runtime.queue.claim("w1", ["test_noop"]) is None
    assert runtime.queue.get(other).state == JobState.queued  # type: ignore[union-attr]


def test_concurrent_claims_never_hand_out_a_job_twice(runtime: Runtime) -> None:
    ids = {_add(runtime, "test_noop") for _ in range(40)}
    claimed: list[int] = []
    lock = threading.Lock()

    def grab(name: str) -> None:
        while (job := runtime.queue.claim(name)) is not None:
            with lock:
                claimed.append(job.id)

    threads = [threading.Thread(target=grab, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claimed) == sorted(ids)


def test_failed_attempt_waits_for_its_backoff_before_retry(runtime: Runtime) -> None:
    job_id = _add(runtime, "test_noop_slow_retry")
    job = runtime.queue.claim("w1")
    assert job is not None and job.max_attempts == 3  # the kind's policy: attempts from the settings
    boom = Failure(FailureKind.transient, 500, "boom")
    assert runtime.queue.fail(job_id, "w1", boom) == JobState.queued
    assert runtime.queue.claim("w1") is None  # run_after is a minute away
    with session_scope(runtime.sessions) as s:
        s.execute(update(Job).where(Job.id == job_id).values(run_after=now() - timedelta(seconds=1)))
    again = runtime.queue.claim("w1")
    assert again is not None and again.id == job_id and again.attempts == 2


def test_retry_limit_then_failed_with_the_last_error(runtime: Runtime, worker: Worker) -> None:
    ok = _add(runtime, "test_fail", {"failures": 2})
    doomed = _add(runtime, "test_fail", {"failures": 5})
    permanent = _add(runtime, "test_fail", {"permanent": True})
    wait_until(lambda: all(runtime.queue.is_terminal(j) for j in (ok, doomed, permanent)))
    a, b, c = (runtime.queue.get(j) for j in (ok, doomed, permanent))
    assert a.state == JobState.completed and a.result == {"attempt": 3} and a.attempts == 3  # type: ignore[union-attr]
    assert b.state == JobState.failed and b.attempts == 3  # type: ignore[union-attr]
    assert b.error == "RuntimeError: transient failure 3"  # type: ignore[union-attr]
    assert c.state == JobState.failed and c.attempts == 1 and c.error_code == 422  # type: ignore[union-attr]


def test_cancel_a_queued_job_is_immediate(runtime: Runtime) -> None:
    job_id = _add(runtime, "test_noop")
    assert runtime.queue.cancel(job_id) == JobState.cancelled
    assert runtime.queue.claim("w1") is None
    assert runtime.queue.cancel(10_000) is None


def test_cancel_a_running_job_stops_it_at_its_next_progress(runtime: Runtime, worker: Worker) -> None:
    job_id = _add(runtime, "test_sleep", {"seconds": 30})
    wait_until(lambda: runtime.queue.get(job_id).state == JobState.running)  # type: ignore[union-attr]
    assert runtime.queue.cancel(job_id) == JobState.running  # asked to stop
    wait_until(lambda: runtime.queue.is_terminal(job_id), timeout_s=10)
    job = runtime.queue.get(job_id)
    assert job.state == JobState.cancelled and job.progress["step"] >= 1  # type: ignore[union-attr,index]


def test_reaper_requeues_a_dead_workers_job_then_fails_it_after_max_attempts(runtime: Runtime) -> None:
    job_id = _add(runtime, "test_noop_two_tries")
    stale = now() - timedelta(seconds=60)
    for expected in (JobState.queued, JobState.failed):
        assert runtime.queue.claim("dead-worker") is not None
        with session_scope(runtime.sessions) as s:
            s.execute(update(Job).where(Job.id == job_id).values(heartbeat_at=stale))
        assert runtime.queue.reap(5.0) == [(job_id, expected)]
    job = runtime.queue.get(job_id)
    assert "stopped responding" in job.error and "after 2 attempt" in job.error  # type: ignore[operator,union-attr]
    # a dead worker's late answer is refused
    assert runtime.queue.complete(job_id, "dead-worker", {"late": True}) is False


def test_reaper_leaves_live_jobs_alone(runtime: Runtime) -> None:
    job_id = _add(runtime, "test_noop")
    assert runtime.queue.claim("w1") is not None
    assert runtime.queue.reap(5.0) == []
    assert runtime.queue.get(job_id).state == JobState.running  # type: ignore[union-attr]


def test_release_requeues_without_counting_the_attempt(runtime: Runtime) -> None:
    job_id = _add(runtime, "test_noop")
    assert runtime.queue.claim("w1") is not None
    assert runtime.queue.release(job_id, "w1")
    job = runtime.queue.get(job_id)
    assert job.state == JobState.queued and job.attempts == 0 and job.worker_id is None  # type: ignore[union-attr]


def test_worker_registers_and_unregisters(runtime: Runtime) -> None:
    w = Worker(runtime, poll_interval_s=0.05)
    assert MODULE and "test_noop" in w.kinds and "webhook" in w.kinds
    t = threading.Thread(target=w.run)
    t.start()

    def registered() -> bool:
        with runtime.sessions() as s:
            return w.id in {x.id for x in job_store.live_workers(s, 30)}

    wait_until(registered)
    w.stop()
    t.join(10)
    assert not registered()
