"""A training child never outlives its worker.

The worker runs as a real process (``python -m tailor.worker.supervisor``, as the supervisor starts it)
with a training job on the tiny model; the test SIGKILLs the worker only, never its child. (That a
reaped attempt can no longer write is in ``test_fencing.py``.)
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tailor.bootstrap import Runtime
from tailor.config import Settings
from tailor.store.db import session_scope
from tailor.store.tables import Job, TailoredModel
from tests.conftest import REPO, process_env
from tests.engine.training.helpers import seed_dataset
from tests.engine.training.test_training_job import start_model

HEARTBEAT_TIMEOUT_S = 4.0


def trainer_env(settings: Settings, **extra: str) -> dict[str, str]:
    """A training worker on the test's database, blobs and tiny model, with fast heartbeats."""
    return process_env(
        settings,
        TAILOR_BASE_MODEL=settings.base_model,
        TAILOR_DEVICE="cpu",
        TAILOR_TRAINING_GRAD_ACCUMULATION="1",
        TAILOR_TRAINING_GRADIENT_CHECKPOINTING="false",
        TAILOR_TRAINING_SAMPLE_STEPS="2",
        TAILOR_HEARTBEAT_INTERVAL_S="0.2",
        TAILOR_HEARTBEAT_TIMEOUT_S=str(HEARTBEAT_TIMEOUT_S),
        TAILOR_WORKER_POLL_INTERVAL_S="0.05",
        TAILOR_JOB_RETRY_BACKOFF_S="0",
        TAILOR_WORKER_KINDS="train_model",
        OMP_NUM_THREADS="1",
        **extra,
    )


@pytest.fixture
def spawn_worker(settings: Settings) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []

    def spawn(**extra: str) -> subprocess.Popen[bytes]:
        p = subprocess.Popen(
            [sys.executable, "-m", "tailor.worker.supervisor"], env=trainer_env(settings, **extra), cwd=REPO
        )
        procs.append(p)
        return p

    yield spawn
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.wait(timeout=10)


def wait_until(predicate: Callable[[], object], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def job_children_of(pid: int) -> list[int]:
    """Live job processes started by the worker ``pid`` (from /proc; not multiprocessing's helper)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) != pid or fields[0] == "Z":
            continue
        cmdline = (entry / "cmdline").read_bytes()
        if b"--multiprocessing-fork" in cmdline and b"resource_tracker" not in cmdline:
            out.append(int(entry.name))
    return out


def running(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def model_step(rt: Runtime, mid: int) -> int:
    with session_scope(rt.sessions) as s:
        return int((s.get(TailoredModel, mid).training_progress or {}).get("step") or 0)


def job_of(rt: Runtime, mid: int) -> Job:
    with session_scope(rt.sessions) as s:
        job = s.get(Job, s.get(TailoredModel, mid).job_id)
        s.expunge(job)
        return job


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
async def test_sigkilled_worker_takes_its_training_child_with_it(
    client: httpx.AsyncClient,
    auth: dict,
    runtime: Runtime,
    token: str,
    settings: Settings,
    spawn_worker: Callable[..., subprocess.Popen[bytes]],
    request: pytest.FixtureRequest,
) -> None:
    seeded = seed_dataset(runtime, token, n=5)
    mid = await start_model(client, auth, seeded.dataset_id, rank=4, total_training_steps=5000)
    worker = spawn_worker(TAILOR_TRAINING_MAX_STEPS="5000", TAILOR_TRAINING_CHECKPOINT_INTERVAL="1000")
    wait_until(lambda: model_step(runtime, mid) >= 1, timeout_s=180, what="training to be mid-run")
    (child,) = job_children_of(worker.pid)
    assert running(child)
    request.addfinalizer(lambda: os.kill(child, signal.SIGKILL) if running(child) else None)

    worker.kill()  # SIGKILL the worker only
    worker.wait()
    killed_at = time.monotonic()
    wait_until(lambda: not running(child), timeout_s=HEARTBEAT_TIMEOUT_S, what="the orphan child to exit")
    assert time.monotonic() - killed_at < HEARTBEAT_TIMEOUT_S
    # nothing heartbeats the job any more: the next worker reaps it and trains it to the end
    assert job_of(runtime, mid).state == "running"
    spawn_worker(TAILOR_TRAINING_MAX_STEPS="4", TAILOR_TRAINING_CHECKPOINT_INTERVAL="2")
    wait_until(lambda: job_of(runtime, mid).state == "completed", timeout_s=180, what="the retaken job")
    job = job_of(runtime, mid)
    assert job.attempts == 2
    with session_scope(runtime.sessions) as s:
        assert s.get(TailoredModel, mid).status == "Completed"
