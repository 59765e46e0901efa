"""Training in the real worker (a supervised child process): stop, and SIGKILL then resume."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import httpx
import pytest
import torch
from safetensors.torch import load as load_safetensors

from tailor.bootstrap import Runtime
from tailor.store import checkpoints as ckpt_store
from tailor.store.db import session_scope
from tailor.store.tables import Job, TailoredModel
from tests.engine.training.helpers import seed_dataset
from tests.engine.training.test_training_job import start_model

BASE = "/v1/tailored-gen"


async def wait_for(predicate, timeout_s: float = 180.0, every_s: float = 0.05) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(every_s)
    raise AssertionError("timed out waiting")


async def status_of(client: httpx.AsyncClient, auth: dict, mid: int) -> dict:
    return (await client.get(f"{BASE}/models/{mid}", headers=auth)).json()


async def test_stop_training_while_it_runs(
    client: httpx.AsyncClient, auth: dict, runtime: Runtime, token: str, worker: object
) -> None:
    runtime.settings.training_max_steps = 5000
    runtime.settings.training_checkpoint_interval = 1000
    seeded = seed_dataset(runtime, token, n=5)
    mid = await start_model(client, auth, seeded.dataset_id, rank=4)

    async def stepping() -> bool:
        body = await status_of(client, auth, mid)
        return (body.get("training_progress") or {}).get("step", 0) >= 1

    await wait_for(stepping)
    r = await client.post(f"{BASE}/models/{mid}/stop_training", headers=auth)
    assert r.status_code == 200 and r.json()["status"] in ("Stopping", "Stopped")

    async def stopped() -> bool:
        with session_scope(runtime.sessions) as s:
            job_state = s.get(Job, s.get(TailoredModel, mid).job_id).state
        return (await status_of(client, auth, mid))["status"] == "Stopped" and job_state == "cancelled"

    await wait_for(stopped, timeout_s=60)
    assert (await client.post(f"{BASE}/models/{mid}/stop_training", headers=auth)).status_code == 409
    assert (await client.post(f"{BASE}/models/{mid}/start_training", headers=auth)).status_code == 409


def final_adapter(runtime: Runtime, mid: int) -> dict[str, torch.Tensor]:
    with session_scope(runtime.sessions) as s:
        key = ckpt_store.serving_adapter(s, s.get(TailoredModel, mid)).key
    return load_safetensors(runtime.blobs.get(key))


@pytest.mark.slow
async def test_sigkill_mid_training_resumes_to_the_same_weights(
    client: httpx.AsyncClient, auth: dict, runtime: Runtime, token: str, worker: object
) -> None:
    runtime.settings.training_max_steps = 120
    runtime.settings.training_checkpoint_interval = 20
    seeded = seed_dataset(runtime, token, n=5)
    killed = await start_model(client, auth, seeded.dataset_id, rank=4, learning_rate=0.0005)

    async def first_checkpoint() -> bool:
        with session_scope(runtime.sessions) as s:
            return bool(ckpt_store.checkpoint_steps(s, killed))

    await wait_for(first_checkpoint, every_s=0.02)
    current = worker._current  # type: ignore[attr-defined]
    assert current is not None, "the training finished before it could be killed"
    os.kill(current[1].pid, signal.SIGKILL)

    async def completed(mid: int) -> bool:
        body = await status_of(client, auth, mid)
        assert body["status"] in ("InProgress", "Completed"), body
        with session_scope(runtime.sessions) as s:
            job_state = s.get(Job, s.get(TailoredModel, mid).job_id).state
        return body["status"] == "Completed" and job_state == "completed"

    # 120 tiny steps, killed and resumed: about a minute on an idle 2-core machine, minutes on a busy one
    await wait_for(lambda: completed(killed), timeout_s=600)
    with session_scope(runtime.sessions) as s:
        job = s.get(Job, s.get(TailoredModel, killed).job_id)
        assert job.attempts == 2 and job.state == "completed"
        assert ckpt_store.checkpoint_steps(s, killed) == [120, 100, 80, 60, 40, 20]
        # only the latest checkpoint keeps its (large) resumable state
        assert [c.state_key is not None for c in ckpt_store.list_checkpoints(s, killed)] == [True] + [
            False
        ] * 5

    straight = await start_model(client, auth, seeded.dataset_id, rank=4, learning_rate=0.0005)
    await wait_for(lambda: completed(straight))
    a, b = final_adapter(runtime, killed), final_adapter(runtime, straight)
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=1e-6)
