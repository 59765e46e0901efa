"""The one code path of a job attempt, used by every executor and by :func:`run_pending`:
load the typed payload, call the kind's handler, and turn what happens into an :class:`Outcome`
through the single failure rule (``tailor.domain.jobs.classify``)."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from tailor.domain.jobs import FailureKind, classify
from tailor.jobs.context import JobContext
from tailor.jobs.queue import JobQueue
from tailor.jobs.registry import Registry
from tailor.store.leases import lease_of
from tailor.store.tables import Job
from tailor.worker.executor import Outcome

log = logging.getLogger(__name__)


def bind(ctx: JobContext, queue: JobQueue, job: Job, worker_id: str) -> JobContext:
    """``ctx`` for running ``job``: its ids, its attempt, its lease, and progress reports as heartbeats."""
    job_id, token = job.id, job.claim_token

    def report(progress: dict[str, Any]) -> bool:
        return queue.heartbeat(job_id, worker_id, progress, claim_token=token)

    return replace(
        ctx,
        job_id=job.id,
        organization_id=job.organization_id,
        attempt=job.attempts,
        lease=lease_of(job, worker_id),
        report=report,
    )


def run_attempt(registry: Registry, kind: str, ctx: JobContext, raw_payload: dict[str, Any]) -> Outcome:
    """Run one attempt of a ``kind`` job in this thread."""
    try:
        registration = registry.get(kind)
        payload = registration.kind.load(raw_payload)
        result = registration.handler(ctx, payload)
    except BaseException as e:
        if not isinstance(e, Exception):
            raise  # KeyboardInterrupt, SystemExit
        failure = classify(e)
        if failure.kind == FailureKind.transient:
            log.error("job %s (%s) failed, attempt %s", ctx.job_id, kind, ctx.attempt, exc_info=True)
        return Outcome(failure=failure)
    if result is not None and not isinstance(result, dict):
        return Outcome.crashed(f"the {kind} handler returned a {type(result).__name__}, not a dict")
    return Outcome(result=result)


def record(queue: JobQueue, job: Job, worker_id: str, outcome: Outcome) -> None:
    """Store an attempt's outcome; the kind's retry policy decides what a failure leads to."""
    if outcome.failure is None:
        if not queue.complete(job.id, worker_id, outcome.result):
            log.warning("job %s finished but was no longer ours; result dropped", job.id)
        return
    queue.fail(job.id, worker_id, outcome.failure)


def run_pending(
    queue: JobQueue,
    ctx: JobContext,
    worker_id: str = "inline",
    limit: int = 1000,
    kinds: list[str] | None = None,
) -> int:
    """Run runnable jobs in this thread until none is left (or ``limit``); returns how many ran.

    For scripts and tests: the same attempt path as a worker, without its heartbeat thread or
    child processes (isolated kinds run here too)."""
    n = 0
    while n < limit:
        job = queue.claim(worker_id, kinds)
        if job is None:
            break
        outcome = run_attempt(
            queue.registry, job.kind, bind(ctx, queue, job, worker_id), dict(job.payload or {})
        )
        record(queue, job, worker_id, outcome)
        n += 1
    return n
