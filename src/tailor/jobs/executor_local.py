"""The local executor: handlers run in a thread of the worker process, or, for kinds registered with
``isolated=True``, in a supervised child process that is killed on cancel or shutdown."""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import traceback
from dataclasses import replace
from multiprocessing.connection import Connection
from typing import Any

from tailor.config import Settings
from tailor.jobs import handlers
from tailor.jobs.executor_base import Execution, Executor, Outcome, OutcomeKind
from tailor.jobs.handlers import JobCancelled, JobContext, PermanentJobError
from tailor.jobs.lifeline import bind_to_parent
from tailor.store.leases import Lease, LeaseLost
from tailor.store.tables import Job

log = logging.getLogger(__name__)

KILL_GRACE_S = 3.0


def run_handler(kind: str, ctx: JobContext, payload: dict[str, Any]) -> Outcome:
    """Call the handler of ``kind`` and turn what happens into an :class:`Outcome`."""
    try:
        fn = handlers.get(kind)
    except KeyError:
        return Outcome(OutcomeKind.failed, error=f"no handler for job kind {kind!r}", code=500)
    try:
        result = fn(ctx, payload)
    except JobCancelled:
        return Outcome(OutcomeKind.cancelled, error="cancelled", code=409)
    except LeaseLost as e:  # reaped and claimed again: whoever holds the job now decides its fate
        log.warning("job %s (%s) stopped: %s", ctx.job_id, kind, e)
        return Outcome(OutcomeKind.failed, error=str(e), code=409, retry=False)
    except PermanentJobError as e:
        return Outcome(OutcomeKind.failed, error=e.message, code=e.code, retry=False)
    except Exception as e:  # a handler bug or a transient fault: retried while attempts remain
        log.error("job %s (%s) failed:\n%s", ctx.job_id, kind, traceback.format_exc())
        return Outcome(OutcomeKind.failed, error=f"{type(e).__name__}: {e}", code=500, retry=True)
    if result is not None and not isinstance(result, dict):
        return Outcome(OutcomeKind.failed, error="handler returned a non-dict result", code=500)
    return Outcome(OutcomeKind.completed, result=result)


class ThreadExecution(Execution):
    """A handler running in a thread of this process; cancel is cooperative (``ctx.progress``)."""

    def __init__(self, job: Job, ctx: JobContext) -> None:
        self._outcome: Outcome | None = None
        self._done = threading.Event()
        payload = dict(job.payload or {})
        self._thread = threading.Thread(
            target=self._run, args=(job.kind, ctx, payload), name=f"job-{job.id}", daemon=True
        )
        self._thread.start()

    def _run(self, kind: str, ctx: JobContext, payload: dict[str, Any]) -> None:
        try:
            self._outcome = run_handler(kind, ctx, payload)
        finally:
            self._done.set()

    def wait(self, timeout_s: float) -> Outcome | None:
        if not self._done.wait(timeout_s):
            return None
        return self._outcome or Outcome(OutcomeKind.crashed, error="handler thread ended without result")

    def cancel(self) -> None:
        """Nothing to force: the handler learns of the cancel at its next ``ctx.progress``."""


def _child_main(
    settings_values: dict[str, Any],
    extra_modules: list[str],
    job: dict[str, Any],
    worker_id: str,
    conn: Connection,
    parent_pid: int,
    lifeline: Connection,
) -> None:
    """Entry point of an isolated job's child process: own runtime, run the handler, send the outcome."""
    bind_to_parent(parent_pid, lifeline)  # first: never outlive the worker, even while starting up
    from tailor.bootstrap import build_runtime

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings(**settings_values)
    rt = build_runtime(settings)
    try:
        handlers.load_all(extra_modules)
        queue = rt.queue
        job_id = job["id"]
        token = job.get("claim_token")

        def report(progress: dict[str, Any]) -> bool:
            return queue.heartbeat(job_id, worker_id, progress, claim_token=token)

        ctx = replace(
            rt.job_context(),
            job_id=job_id,
            organization_id=job["organization_id"],
            attempt=job["attempts"],
            lease=Lease(job_id, worker_id, token) if token else None,
            report=report,
        )
        outcome = run_handler(job["kind"], ctx, job["payload"])
        conn.send(outcome)
    finally:
        conn.close()
        rt.close()


class ProcessExecution(Execution):
    """A handler running in a child process that this worker supervises (and kills on cancel)."""

    def __init__(self, job: Job, settings: Settings, extra_modules: list[str], worker_id: str) -> None:
        mp = multiprocessing.get_context("spawn")
        self._recv, send = mp.Pipe(duplex=False)
        # the child's lifeline: this process keeps the only write end, so the child sees EOF when
        # this worker dies, however it dies (see jobs/lifeline.py)
        lifeline, self._lifeline = mp.Pipe(duplex=False)
        info = {
            "id": job.id,
            "kind": job.kind,
            "payload": dict(job.payload or {}),
            "organization_id": job.organization_id,
            "attempts": job.attempts,
            "claim_token": job.claim_token,
        }
        self._proc = mp.Process(
            target=_child_main,
            args=(settings.model_dump(), extra_modules, info, worker_id, send, os.getpid(), lifeline),
            name=f"tailor-job-{job.id}",
            daemon=True,
        )
        self._proc.start()
        send.close()
        lifeline.close()
        self._killed = False
        self._outcome: Outcome | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid

    def wait(self, timeout_s: float) -> Outcome | None:
        if self._outcome is not None:
            return self._outcome
        try:
            ready = self._recv.poll(timeout_s)
        except (EOFError, OSError):
            ready = True
        if ready:
            try:
                self._outcome = self._recv.recv()
            except (EOFError, OSError):
                self._proc.join(KILL_GRACE_S)
                self._outcome = self._ended_without_answer()
            self._proc.join(KILL_GRACE_S)
            self._lifeline.close()  # a child still winding down past the grace exits now
            return self._outcome
        if not self._proc.is_alive():
            self._outcome = self._ended_without_answer()
            self._lifeline.close()
            return self._outcome
        return None

    def _ended_without_answer(self) -> Outcome:
        if self._killed:
            return Outcome(OutcomeKind.cancelled, error="cancelled", code=409)
        code = self._proc.exitcode
        return Outcome(
            OutcomeKind.crashed,
            error=f"the job's process exited unexpectedly (exit code {code})",
            code=500,
            retry=True,
        )

    def cancel(self) -> None:
        """Terminate the child (SIGTERM, then SIGKILL after a short grace)."""
        if not self._proc.is_alive():
            return
        self._killed = True
        self._proc.terminate()
        self._proc.join(KILL_GRACE_S)
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join(KILL_GRACE_S)
        self._lifeline.close()


class LocalExecutor(Executor):
    """Runs ordinary kinds in threads and isolated kinds in child processes."""

    def __init__(self, settings: Settings, extra_modules: list[str] | None = None) -> None:
        self.settings = settings
        self.extra_modules = list(extra_modules or [])

    def start(self, job: Job, ctx: JobContext, worker_id: str) -> Execution:
        if handlers.is_isolated(job.kind):
            return ProcessExecution(job, self.settings, self.extra_modules, worker_id)
        return ThreadExecution(job, ctx)
