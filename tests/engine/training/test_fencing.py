"""A reaped attempt of a training job can no longer write: no checkpoint, no progress, no files.

The attempt is the real ``TrainingJob`` on the tiny model, with the lease a worker's claim gives it;
its job is then reaped (its worker's heartbeat went stale) and claimed by another worker.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import update

from tailor.bootstrap import Runtime
from tailor.engine.training.job import TrainingJob
from tailor.jobs.context import JobContext
from tailor.jobs.queue import now
from tailor.store import checkpoints as ckpt_store
from tailor.store.db import session_scope
from tailor.store.leases import LeaseLost, lease_of
from tailor.store.tables import Job, TailoredModel
from tailor.worker.run import run_attempt
from tests.engine.training.helpers import seed_dataset
from tests.engine.training.test_training_job import start_model


def claim(rt: Runtime, worker_id: str) -> JobContext:
    """Claim the next job as ``worker_id``: the context its attempt runs with."""
    job = rt.queue.claim(worker_id)
    assert job is not None
    return replace(
        rt.job_context(),
        job_id=job.id,
        organization_id=job.organization_id,
        attempt=job.attempts,
        lease=lease_of(job, worker_id),
    )


def reap(rt: Runtime, job_id: int) -> None:
    """The claiming worker went silent: its heartbeat is stale and the reaper requeues the job."""
    with session_scope(rt.sessions) as s:
        s.execute(update(Job).where(Job.id == job_id).values(heartbeat_at=now() - timedelta(seconds=120)))
    assert rt.queue.reap(60.0) == [(job_id, "queued")]


def model(rt: Runtime, mid: int) -> TailoredModel:
    with session_scope(rt.sessions) as s:
        m = s.get(TailoredModel, mid)
        s.expunge(m)
        return m


async def test_a_reaped_attempt_cannot_record_a_checkpoint(
    client: httpx.AsyncClient, auth: dict, runtime: Runtime, token: str
) -> None:
    seeded = seed_dataset(runtime, token, n=5)
    mid = await start_model(client, auth, seeded.dataset_id, rank=4)
    prefix = model(runtime, mid).blob_prefix

    first = claim(runtime, "worker-a")
    old = TrainingJob(first, mid)
    plan = old.plan()
    assert plan is not None
    old_trainer = old.prepare(plan)
    old_trainer.train_step()
    progress = model(runtime, mid).training_progress

    reap(runtime, first.job_id)
    second = claim(runtime, "worker-b")
    assert second.job_id == first.job_id and second.attempt == 2

    with pytest.raises(LeaseLost):
        old.checkpoint(old_trainer, 4, 0.5)
    with session_scope(runtime.sessions) as s:
        assert ckpt_store.list_checkpoints(s, mid) == []
    assert list(runtime.blobs.list(prefix)) == []  # not a file: nothing of it can ever be referenced
    assert model(runtime, mid).training_progress == progress

    # the attempt that holds the job now records its checkpoint, under keys of its own
    new = TrainingJob(second, mid)
    new_plan = new.plan()
    assert new_plan is not None
    new_trainer = new.prepare(new_plan)
    new.checkpoint(new_trainer, 4, 0.5)
    with session_scope(runtime.sessions) as s:
        (row,) = ckpt_store.list_checkpoints(s, mid)
        keys = {row.adapter_key, row.adapter_key + ".json", row.state_key, row.sample_key}
    assert row.training_job_id == second.job_id and new.run_id in row.adapter_key
    assert set(runtime.blobs.list(prefix)) == keys

    # ...and the old attempt, run again from the start, stops at its first write
    outcome = run_attempt(runtime.registry, "train_model", first, {"model_id": mid})
    assert (
        outcome.failure is not None
        and not outcome.failure.retryable
        and "no longer holds" in outcome.failure.message
    )
    with session_scope(runtime.sessions) as s:
        assert [c.adapter_key for c in ckpt_store.list_checkpoints(s, mid)] == [row.adapter_key]
    assert set(runtime.blobs.list(prefix)) == keys
    assert model(runtime, mid).status == "InProgress"


async def test_training_needs_a_lease(
    client: httpx.AsyncClient, auth: dict, runtime: Runtime, token: str
) -> None:
    seeded = seed_dataset(runtime, token, n=5)
    mid = await start_model(client, auth, seeded.dataset_id, rank=4)
    outcome = run_attempt(runtime.registry, "train_model", runtime.job_context(), {"model_id": mid})
    assert outcome.failure is not None and "lease" in outcome.failure.message
    with session_scope(runtime.sessions) as s:
        assert ckpt_store.list_checkpoints(s, mid) == []
