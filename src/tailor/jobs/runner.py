"""Run claimed jobs in the current process: the core that worker loops (and tests) drive."""

from __future__ import annotations

import logging
import traceback
from dataclasses import replace

from tailor.jobs import handlers
from tailor.jobs.handlers import JobCancelled, JobContext, PermanentJobError
from tailor.jobs.queue import JobQueue
from tailor.store.tables import Job

log = logging.getLogger(__name__)


def execute(queue: JobQueue, base_ctx: JobContext, job: Job, worker_id: str) -> None:
    """Run one claimed job to its end and record the outcome."""
    fn = handlers.get(job.kind)

    def report(progress: dict) -> bool:
        return queue.heartbeat(job.id, worker_id, progress)

    ctx = replace(
        base_ctx, job_id=job.id, organization_id=job.organization_id, attempt=job.attempts, report=report
    )
    try:
        result = fn(ctx, dict(job.payload or {}))
    except JobCancelled:
        queue.fail(job.id, worker_id, "cancelled", retry=False)
    except PermanentJobError as e:
        queue.fail(job.id, worker_id, str(e), retry=False)
    except Exception as e:  # a handler bug or a transient fault: retried while attempts remain
        log.error("job %s (%s) failed:\n%s", job.id, job.kind, traceback.format_exc())
        queue.fail(job.id, worker_id, f"{type(e).__name__}: {e}", retry=True)
    else:
        queue.complete(job.id, worker_id, result)


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
