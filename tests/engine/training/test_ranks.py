"""Data-parallel training launched by the training job (``TAILOR_TRAINING_DEVICES``), through the
real worker: the job's child process is rank 0 and starts the other rank; gloo on CPU."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
import torch

from tailor.bootstrap import Runtime
from tailor.engine.training.ranks import MODULE
from tailor.store.db import session_scope
from tailor.store.tables import Job, TailoredModel
from tailor.worker.run import run_pending
from tests.engine.training.helpers import seed_dataset
from tests.engine.training.test_orphans import model_step
from tests.engine.training.test_training_job import start_model
from tests.engine.training.test_training_worker import final_adapter, status_of, wait_for


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """SQLite only: what is tested here does not depend on the database (and CI time counts)."""
    return f"sqlite:///{tmp_path / 'tailor.db'}"


pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc"),
]


def _ancestors(pid: int, depth: int = 4) -> list[int]:
    out = []
    for _ in range(depth):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            break
        pid = int(stat.rsplit(")", 1)[1].split()[1])
        out.append(pid)
    return out


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def rank_processes() -> list[int]:
    """Live helper ranks started (through the worker's job child) by this test process."""
    me, out = os.getpid(), []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if MODULE.encode() in cmdline and me in _ancestors(int(entry.name)) and _alive(int(entry.name)):
            out.append(int(entry.name))
    return out


def job_child(worker: object) -> int:
    current = worker._current  # type: ignore[attr-defined]
    assert current is not None, "the training is not running"
    return int(current[1].pid)


def job_state(runtime: Runtime, mid: int) -> tuple[str, str | None]:
    with session_scope(runtime.sessions) as s:
        job = s.get(Job, s.get(TailoredModel, mid).job_id)
        return job.state, job.error


async def stepping(client: httpx.AsyncClient, auth: dict, mid: int) -> bool:
    return ((await status_of(client, auth, mid)).get("training_progress") or {}).get("step", 0) >= 1


def two_ranks(runtime: Runtime, **settings: object) -> None:
    runtime.settings.training_grad_accumulation = 2  # the global batch: 2 micro-batches, 1 per rank
    runtime.settings.training_devices = "2"
    for name, value in settings.items():
        setattr(runtime.settings, name, value)


async def test_two_ranks_train_the_weights_of_one(
    client: httpx.AsyncClient, auth: dict, runtime: Runtime, token: str, request: pytest.FixtureRequest
) -> None:
    runtime.settings.training_grad_accumulation = 2
    runtime.settings.training_max_steps = 4
    seeded = seed_dataset(runtime, token, n=4)
    one = await start_model(client, auth, seeded.dataset_id, rank=4, learning_rate=5e-4)
    run_pending(runtime.queue, runtime.job_context())  # one process, inline
    two_ranks(runtime)
    two = await start_model(client, auth, seeded.dataset_id, rank=4, learning_rate=5e-4)
    request.getfixturevalue("worker")  # two processes: the worker's job child and the rank it starts

    async def completed() -> bool:
        body = await status_of(client, auth, two)
        assert body["status"] in ("InProgress", "Completed"), body
        return body["status"] == "Completed" and job_state(runtime, two)[0] == "completed"

    await wait_for(completed, timeout_s=300)
    a, b = final_adapter(runtime, one), final_adapter(runtime, two)
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(b[k], a[k], rtol=1e-5, atol=1e-6)
    assert any(v.abs().sum() > 0 for k, v in a.items() if "lora_B" in k)  # it did train
    assert rank_processes() == []


async def test_stop_reaches_every_rank(
    client: httpx.AsyncClient, auth: dict, runtime: Runtime, token: str, worker: object
) -> None:
    two_ranks(runtime, training_max_steps=5000, training_checkpoint_interval=1000)
    seeded = seed_dataset(runtime, token, n=4)
    mid = await start_model(client, auth, seeded.dataset_id, rank=4)
    await wait_for(lambda: stepping(client, auth, mid))
    rank0 = job_child(worker)
    (helper,) = rank_processes()

    assert (
        await client.post(f"/v1/tailored-gen/models/{mid}/stop_training", headers=auth)
    ).status_code == 200

    async def stopped() -> bool:
        return (await status_of(client, auth, mid))["status"] == "Stopped" and job_state(runtime, mid)[
            0
        ] == "cancelled"

    await wait_for(stopped, timeout_s=60)
    await wait_for(lambda: _done(rank0, helper), timeout_s=30)

    assert rank_processes() == []


async def _done(*pids: int) -> bool:
    return not any(_alive(p) for p in pids)


async def test_a_rank_that_dies_fails_the_attempt_and_the_next_resumes_on_two_ranks(
    client: httpx.AsyncClient, auth: dict, runtime: Runtime, token: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tailor.engine.training.job")
    runtime.settings.training_grad_accumulation = 2
    runtime.settings.training_max_steps = 6
    runtime.settings.training_checkpoint_interval = 2
    seeded = seed_dataset(runtime, token, n=4)
    one = await start_model(client, auth, seeded.dataset_id, rank=4, learning_rate=5e-4)
    run_pending(runtime.queue, runtime.job_context())  # the reference: one process, straight through
    two_ranks(runtime, job_max_attempts=2)
    mid = await start_model(client, auth, seeded.dataset_id, rank=4, learning_rate=5e-4)
    killed: list[int] = []

    def kill_the_helper_after_the_first_checkpoint() -> None:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            helpers = rank_processes()
            if helpers and model_step(runtime, mid) >= 2:  # the checkpoint of step 2 is recorded
                os.kill(helpers[0], signal.SIGKILL)
                killed.append(helpers[0])
                return
            time.sleep(0.02)

    killer = threading.Thread(target=kill_the_helper_after_the_first_checkpoint, daemon=True)
    killer.start()
    run_pending(runtime.queue, runtime.job_context())  # rank 0 in this process; the retry too
    killer.join()
    assert killed, "the helper rank was never seen past the first checkpoint"
    # the attempt failed naming the rank; no process was left; the retry resumed on two ranks
    assert "RankFailed: training process 1 of 2 (cpu) exited unexpectedly (killed by SIGKILL)" in caplog.text
    assert rank_processes() == []
    with session_scope(runtime.sessions) as s:
        job = s.get(Job, s.get(TailoredModel, mid).job_id)
        assert (job.state, job.attempts) == ("completed", 2)
    assert f"model {mid}: resuming training at step" in caplog.text  # not from scratch
    a, b = final_adapter(runtime, one), final_adapter(runtime, mid)
    for k in a:
        torch.testing.assert_close(b[k], a[k], rtol=1e-5, atol=1e-6)
