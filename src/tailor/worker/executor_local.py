"""The local executor: handlers run in a thread of the worker process, or, for kinds declared
``isolated``, in a supervised child process that is killed on cancel or shutdown."""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from multiprocessing.connection import Connection
from typing import Any

from tailor.config import Settings
from tailor.jobs.context import JobContext
from tailor.jobs.lifeline import bind_to_parent
from tailor.jobs.registry import Registry
from tailor.store.tables import Job
from tailor.worker.executor import Execution, Executor, Outcome
from tailor.worker.run import run_attempt

log = logging.getLogger(__name__)

KILL_GRACE_S = 3.0


class ThreadExecution(Execution):
    """A handler running in a thread of this process; cancel is cooperative (``ctx.progress``)."""

    def __init__(self, registry: Registry, job: Job, ctx: JobContext) -> None:
        self._outcome: Outcome | None = None
        self._done = threading.Event()
        payload = dict(job.payload or {})
        self._thread = threading.Thread(
            target=self._run, args=(registry, job.kind, ctx, payload), name=f"job-{job.id}", daemon=True
        )
        self._thread.start()

    def _run(self, registry: Registry, kind: str, ctx: JobContext, payload: dict[str, Any]) -> None:
        try:
            self._outcome = run_attempt(registry, kind, ctx, payload)
        finally:
            self._done.set()

    def wait(self, timeout_s: float) -> Outcome | None:
        if not self._done.wait(timeout_s):
            return None
        return self._outcome or Outcome.crashed("the handler thread ended without a result")

    def cancel(self) -> None:
        """Nothing to force: the handler learns of the cancel at its next ``ctx.progress``."""


def _child_main(
    settings_values: dict[str, Any],
    job: dict[str, Any],
    worker_id: str,
    conn: Connection,
    parent_pid: int,
    lifeline: Connection,
) -> None:
    """Entry point of an isolated job's child process: own runtime, run the attempt, send the outcome."""
    bind_to_parent(parent_pid, lifeline)  # first: never outlive the worker, even while starting up
    from tailor.bootstrap import build_runtime  # the composition root, in the fresh child process
    from tailor.worker.run import bind

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    rt = build_runtime(Settings(**settings_values))
    try:
        row = Job(
            id=job["id"],
            kind=job["kind"],
            organization_id=job["organization_id"],
            attempts=job["attempts"],
            payload=job["payload"],
            claim_token=job.get("claim_token"),
        )
        ctx = bind(rt.job_context(), rt.queue, row, worker_id)
        conn.send(run_attempt(rt.registry, job["kind"], ctx, job["payload"]))
    finally:
        conn.close()
        rt.close()


class ProcessExecution(Execution):
    """A handler running in a child process that this worker supervises (and kills on cancel)."""

    def __init__(self, job: Job, settings: Settings, worker_id: str) -> None:
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
            args=(settings.model_dump(), info, worker_id, send, os.getpid(), lifeline),
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
            return Outcome.cancelled()
        return Outcome.crashed(f"the job's process exited unexpectedly (exit code {self._proc.exitcode})")

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


def uses_gpu(settings: Settings) -> bool:
    """Whether this worker's models live on a GPU (``TAILOR_DEVICE``, or auto with CUDA present)."""
    if settings.device != "auto":
        return settings.device.startswith("cuda")
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


class LocalExecutor(Executor):
    """Runs ordinary kinds in threads and isolated kinds in child processes."""

    def __init__(self, settings: Settings, registry: Registry) -> None:
        self.settings = settings
        self.registry = registry

    def start(self, job: Job, ctx: JobContext, worker_id: str) -> Execution:
        if self.registry.kind(job.kind).isolated:
            if uses_gpu(self.settings):
                # the child loads its own pipeline on this GPU: the warm one would not leave room
                ctx.resources.release_generator()
            return ProcessExecution(job, self.settings, worker_id)
        return ThreadExecution(self.registry, job, ctx)
