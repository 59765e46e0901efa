"""Real worker processes against one database: exactly-once, crash recovery, cancel, shutdown, restarts."""

from __future__ import annotations

import os
import signal
import subprocess
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from tailor.bootstrap import Runtime
from tailor.config import Settings
from tailor.domain.enums import JobState
from tailor.jobs.queue import enqueue
from tailor.store.db import session_scope
from tailor.worker.supervisor import WorkerSupervisor
from tests.jobs.conftest import REPO, wait_until, worker_env
from tests.jobs.helpers import KINDS, Args

Spawn = Callable[..., subprocess.Popen[bytes]]


def _add(rt: Runtime, kind: str, payload: dict) -> int:
    with session_scope(rt.sessions) as s:
        return enqueue(s, KINDS[kind], Args(**payload), organization_id=None).id


def _lines(log: Path) -> list[tuple[int, str, int, int]]:
    if not log.exists():
        return []
    out = []
    for line in log.read_text().splitlines():
        job, tag, pid, attempt = line.split()
        out.append((int(job), tag, int(pid), int(attempt)))
    return out


def _state(rt: Runtime, job_id: int) -> str:
    job = rt.queue.get(job_id)
    assert job is not None
    return job.state


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_two_workers_run_every_job_exactly_once(
    runtime: Runtime, spawn_worker: Spawn, tmp_path: Path
) -> None:
    log = tmp_path / "runs.log"
    ids = [_add(runtime, "test_noop", {"log": str(log), "value": i}) for i in range(30)]
    spawn_worker()
    spawn_worker()
    wait_until(lambda: all(runtime.queue.is_terminal(j) for j in ids), what="all jobs to finish")
    assert all(_state(runtime, j) == JobState.completed for j in ids)
    runs = Counter(job for job, tag, _pid, _att in _lines(log) if tag == "run")
    assert runs == Counter(ids)  # each job ran exactly once
    assert {runtime.queue.get(j).result["value"] for j in ids} == set(range(30))  # type: ignore[index,union-attr]


def test_job_of_a_sigkilled_worker_completes_on_another(
    runtime: Runtime, spawn_worker: Spawn, tmp_path: Path
) -> None:
    log = tmp_path / "runs.log"
    job_id = _add(runtime, "test_sleep", {"log": str(log), "seconds": 2.0})
    first = spawn_worker()
    wait_until(lambda: any(tag == "start" for _j, tag, _p, _a in _lines(log)), what="the job to start")
    first.kill()  # SIGKILL mid-job: no chance to clean up
    first.wait()
    assert _state(runtime, job_id) == JobState.running  # still claimed by the dead worker
    spawn_worker()
    wait_until(lambda: runtime.queue.is_terminal(job_id), what="the job to complete elsewhere")
    job = runtime.queue.get(job_id)
    assert job is not None and job.state == JobState.completed and job.attempts == 2
    lines = _lines(log)
    starts = [(pid, att) for _j, tag, pid, att in lines if tag == "start"]
    assert len(starts) == 2 and starts[0][0] == first.pid and starts[1][0] != first.pid
    assert [tag for _j, tag, _p, _a in lines].count("done") == 1


def test_cancel_kills_the_child_of_an_isolated_job(
    runtime: Runtime, spawn_worker: Spawn, tmp_path: Path
) -> None:
    pid_file = tmp_path / "child.pid"
    job_id = _add(runtime, "test_block", {"pid_file": str(pid_file), "seconds": 120})
    worker = spawn_worker()
    wait_until(lambda: pid_file.exists() and pid_file.read_text(), what="the isolated child to start")
    child = int(pid_file.read_text())
    assert child != worker.pid and _alive(child)
    assert runtime.queue.cancel(job_id) == JobState.running
    wait_until(lambda: runtime.queue.is_terminal(job_id), timeout_s=20, what="the cancel")
    assert _state(runtime, job_id) == JobState.cancelled
    wait_until(lambda: not _alive(child), timeout_s=10, what="the child to die")
    assert worker.poll() is None  # the worker itself lives on
    # ...and keeps working
    after = _add(runtime, "test_noop", {})
    wait_until(lambda: runtime.queue.is_terminal(after), what="the next job")


def test_cancel_of_a_cooperative_isolated_job_lets_it_clean_up(
    runtime: Runtime, spawn_worker: Spawn, tmp_path: Path
) -> None:
    log = tmp_path / "runs.log"
    job_id = _add(runtime, "test_steps", {"log": str(log)})
    spawn_worker(TAILOR_JOB_CANCEL_GRACE_S="30")
    wait_until(lambda: (runtime.queue.get(job_id).progress or {}).get("step"), what="progress")  # type: ignore[union-attr]
    runtime.queue.cancel(job_id)
    wait_until(lambda: runtime.queue.is_terminal(job_id), timeout_s=20, what="the cancel")
    assert _state(runtime, job_id) == JobState.cancelled
    tags = [tag for _j, tag, _p, _a in _lines(log)]
    assert tags == ["start", "cleanup"]  # stopped by itself, well before the 30 s kill


def test_sigterm_requeues_a_job_that_outlives_the_grace_period(
    runtime: Runtime, spawn_worker: Spawn, tmp_path: Path
) -> None:
    log = tmp_path / "runs.log"
    job_id = _add(runtime, "test_sleep", {"log": str(log), "seconds": 30})
    worker = spawn_worker(TAILOR_WORKER_SHUTDOWN_GRACE_S="0.5")
    wait_until(lambda: _state(runtime, job_id) == JobState.running, what="the job to start")
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=20) == 0
    job = runtime.queue.get(job_id)
    assert job is not None and job.state == JobState.queued and job.attempts == 0


def test_sigterm_lets_a_short_job_finish(runtime: Runtime, spawn_worker: Spawn, tmp_path: Path) -> None:
    log = tmp_path / "runs.log"
    job_id = _add(runtime, "test_sleep", {"log": str(log), "seconds": 1.5})
    worker = spawn_worker()
    wait_until(lambda: _state(runtime, job_id) == JobState.running, what="the job to start")
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=20) == 0
    assert _state(runtime, job_id) == JobState.completed


@pytest.fixture
def supervisors(settings: Settings) -> Callable[[int], WorkerSupervisor]:
    made: list[WorkerSupervisor] = []

    def make(n: int) -> WorkerSupervisor:
        sup = WorkerSupervisor(n, env=worker_env(settings), cwd=str(REPO))
        made.append(sup)
        sup.start()
        return sup

    yield make  # type: ignore[misc]
    for sup in made:
        sup.stop(timeout_s=15)


def test_supervisor_restarts_a_dead_worker(
    runtime: Runtime, supervisors: Callable[[int], WorkerSupervisor]
) -> None:
    sup = supervisors(1)
    wait_until(lambda: len(sup.pids()) == 1, what="the worker to start")
    (pid,) = sup.pids()
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: sup.pids() and sup.pids() != [pid], what="a replacement worker")
    job_id = _add(runtime, "test_noop", {})
    wait_until(lambda: runtime.queue.is_terminal(job_id), what="the replacement to work")


def test_restarting_the_workers_loses_no_queued_job(
    runtime: Runtime, supervisors: Callable[[int], WorkerSupervisor], tmp_path: Path
) -> None:
    log = tmp_path / "runs.log"
    ids = [_add(runtime, "test_sleep", {"log": str(log), "seconds": 0.2}) for _ in range(12)]
    sup = supervisors(2)
    wait_until(lambda: sum(runtime.queue.is_terminal(j) for j in ids) >= 2, what="some jobs to finish")
    sup.stop(timeout_s=20)  # graceful: running jobs finish, queued ones stay queued
    done_before = sum(runtime.queue.is_terminal(j) for j in ids)
    assert all(_state(runtime, j) in (JobState.completed, JobState.queued) for j in ids)
    ids += [_add(runtime, "test_sleep", {"log": str(log), "seconds": 0.1}) for _ in range(3)]
    supervisors(2)
    wait_until(lambda: all(runtime.queue.is_terminal(j) for j in ids), what="the rest after restart")
    assert all(_state(runtime, j) == JobState.completed for j in ids)
    done = Counter(job for job, tag, _p, _a in _lines(log) if tag == "done")
    assert done == Counter(ids) and done_before < len(ids)
