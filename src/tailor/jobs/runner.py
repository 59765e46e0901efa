"""Run queued jobs in the current process until none is left: for tests and one-off scripts."""

from __future__ import annotations

from tailor.jobs.executor_base import OutcomeKind
from tailor.jobs.executor_local import run_handler
from tailor.jobs.handlers import JobContext
from tailor.jobs.queue import JobQueue
from tailor.store.leases import lease_of
from tailor.store.tables import Job


def execute(queue: JobQueue, base_ctx: JobContext, job: Job, worker_id: str, backoff_s: float = 0.0) -> None:
    """Run one claimed job to its end in this thread and record the outcome."""
    from dataclasses import replace

    def report(progress: dict) -> bool:
        return queue.heartbeat(job.id, worker_id, progress, claim_token=job.claim_token)

    ctx = replace(
        base_ctx,
        job_id=job.id,
        organization_id=job.organization_id,
        attempt=job.attempts,
        lease=lease_of(job, worker_id),
        report=report,
    )
    outcome = run_handler(job.kind, ctx, dict(job.payload or {}))
    if outcome.kind == OutcomeKind.completed:
        queue.complete(job.id, worker_id, outcome.result)
    else:
        queue.fail(
            job.id,
            worker_id,
            outcome.error or outcome.kind.value,
            retry=outcome.retry,
            code=outcome.code,
            backoff_s=backoff_s,
        )


def run_pending(queue: JobQueue, ctx: JobContext, worker_id: str = "inline", limit: int = 1000) -> int:
    """Run queued jobs in this process until none is left (or ``limit``); returns how many ran."""
    n = 0
    while n < limit:
        job = queue.claim(worker_id)
        if job is None:
            break
        execute(queue, ctx, job, worker_id)
        n += 1
    return n
