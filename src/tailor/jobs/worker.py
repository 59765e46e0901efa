"""The worker loop: claim a job, run it through the executor, heartbeat, record the outcome.

A worker registers itself in the ``workers`` table and, from a heartbeat thread, refreshes its row and
its running job's heartbeat, asks a cancelled job to stop, and reaps the jobs of dead workers (those
whose heartbeat is older than ``settings.heartbeat_timeout_s``). ``stop()`` is graceful: no new claims,
the running job gets ``settings.worker_shutdown_grace_s`` to finish, then it is stopped and requeued.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from tailor.bootstrap import Runtime
from tailor.jobs import handlers
from tailor.jobs.executor_base import Execution, Executor, Outcome, OutcomeKind
from tailor.jobs.executor_local import LocalExecutor
from tailor.store import jobs as job_store
from tailor.store.db import immediate_transaction, session_scope
from tailor.store.leases import lease_of
from tailor.store.tables import Job

log = logging.getLogger(__name__)


def extra_modules(value: str) -> list[str]:
    """``TAILOR_EXTRA_HANDLER_MODULES`` as a list of module names."""
    return [m.strip() for m in value.split(",") if m.strip()]


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Worker:
    """Runs jobs from the queue of ``rt`` one at a time until stopped."""

    def __init__(
        self,
        rt: Runtime,
        *,
        worker_id: str | None = None,
        kinds: Iterable[str] | None = None,
        executor: Executor | None = None,
        poll_interval_s: float | None = None,
    ) -> None:
        self.rt = rt
        self.settings = rt.settings
        self.id = worker_id or new_worker_id()
        modules = extra_modules(self.settings.extra_handler_modules)
        known = handlers.load_all(modules)
        self.kinds = sorted(kinds if kinds is not None else known)
        self.executor = executor or LocalExecutor(self.settings, modules)
        self.poll_interval_s = poll_interval_s or self.settings.worker_poll_interval_s
        self._stop = threading.Event()
        self._stop_at: float | None = None
        self._lock = threading.Lock()
        self._current: tuple[int, Execution] | None = None
        self._cancel_seen: dict[int, float] = {}
        self.jobs_run = 0

    # --- control ---------------------------------------------------------------------------------
    def stop(self, grace_s: float | None = None) -> None:
        """Stop claiming; let a running job finish within ``grace_s`` (default from settings)."""
        grace = self.settings.worker_shutdown_grace_s if grace_s is None else grace_s
        with self._lock:
            deadline = time.monotonic() + grace
            self._stop_at = deadline if self._stop_at is None else min(self._stop_at, deadline)
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    # --- the loop --------------------------------------------------------------------------------
    def run(self, *, max_jobs: int | None = None, exit_when_idle: bool = False) -> int:
        """Work until stopped (or ``max_jobs`` ran, or the queue is empty with ``exit_when_idle``)."""
        with immediate_transaction(self.rt.engine) as s:
            job_store.register_worker(s, self.id, socket.gethostname(), os.getpid(), self.kinds)
        beat = threading.Thread(target=self._heartbeat_loop, name=f"heartbeat-{self.id}", daemon=True)
        beat.start()
        log.info("worker %s started (kinds: %s)", self.id, ", ".join(self.kinds))
        try:
            while not self._stop.is_set():
                if max_jobs is not None and self.jobs_run >= max_jobs:
                    break
                job = self.rt.queue.claim(self.id, self.kinds)
                if job is None:
                    if exit_when_idle:
                        break
                    self._stop.wait(self.poll_interval_s)
                    continue
                self._run_one(job)
                self.jobs_run += 1
        finally:
            self._stop.set()
            beat.join(timeout=5)
            self.executor.close()
            try:
                with session_scope(self.rt.sessions) as s:
                    job_store.remove_worker(s, self.id)
            except Exception:  # the database may be gone at shutdown
                log.warning("could not unregister worker %s", self.id, exc_info=True)
            log.info("worker %s stopped after %d job(s)", self.id, self.jobs_run)
        return self.jobs_run

    def _context(self, job: Job) -> Any:
        queue, wid, job_id, token = self.rt.queue, self.id, job.id, job.claim_token

        def report(progress: dict[str, Any]) -> bool:
            return queue.heartbeat(job_id, wid, progress, claim_token=token)

        return replace(
            self.rt.job_context(),
            job_id=job.id,
            organization_id=job.organization_id,
            attempt=job.attempts,
            lease=lease_of(job, wid),
            report=report,
        )

    def _run_one(self, job: Job) -> None:
        execution = self.executor.start(job, self._context(job), self.id)
        with self._lock:
            self._current = (job.id, execution)
        try:
            while True:
                outcome = execution.wait(0.1)
                if outcome is not None:
                    self._record(job, outcome)
                    return
                with self._lock:
                    overdue = self._stop_at is not None and time.monotonic() >= self._stop_at
                if overdue:
                    log.warning("worker %s stopping: requeueing job %s", self.id, job.id)
                    execution.cancel()
                    self.rt.queue.release(job.id, self.id)
                    return
        finally:
            with self._lock:
                self._current = None
                self._cancel_seen.pop(job.id, None)

    def _record(self, job: Job, outcome: Outcome) -> None:
        q, backoff = self.rt.queue, self.settings.job_retry_backoff_s
        if outcome.kind == OutcomeKind.completed:
            if not q.complete(job.id, self.id, outcome.result):
                log.warning("job %s finished but was no longer ours; result dropped", job.id)
            return
        retry = outcome.retry and outcome.kind in (OutcomeKind.failed, OutcomeKind.crashed)
        q.fail(
            job.id,
            self.id,
            outcome.error or outcome.kind.value,
            retry=retry,
            code=outcome.code,
            backoff_s=backoff,
        )

    # --- heartbeat, cancel, reaping -------------------------------------------------------------
    def _heartbeat_loop(self) -> None:
        interval = self.settings.heartbeat_interval_s
        timeout = self.settings.heartbeat_timeout_s
        while True:
            stopping = self._stop.wait(interval)
            if stopping:
                if self._current is None:
                    break
                time.sleep(interval)  # keep the running job's heartbeat alive until it ends
            try:
                self._beat(timeout)
            except Exception:
                log.warning("worker %s heartbeat failed", self.id, exc_info=True)

    def _beat(self, timeout_s: float) -> None:
        with immediate_transaction(self.rt.engine) as s:
            if not job_store.beat_worker(s, self.id):
                job_store.register_worker(s, self.id, socket.gethostname(), os.getpid(), self.kinds)
        with self._lock:
            current = self._current
        if current is not None:
            job_id, execution = current
            if job_id in self.rt.queue.touch([job_id], self.id):
                # The handler sees the cancel at its next ``ctx.progress`` and may clean up; past the
                # grace period the execution is stopped by force (an isolated job's child is killed).
                first_seen = self._cancel_seen.setdefault(job_id, time.monotonic())
                if time.monotonic() - first_seen >= self.settings.job_cancel_grace_s:
                    log.info("worker %s: job %s was cancelled or taken away; stopping it", self.id, job_id)
                    execution.cancel()
        self.reap(timeout_s)

    def reap(self, timeout_s: float) -> list[tuple[int, str]]:
        """Return the jobs of dead workers to the queue (or fail them), and forget dead workers."""
        with self.rt.sessions() as s:
            stale = job_store.has_stale_running_jobs(s, timeout_s)
        reaped: list[tuple[int, str]] = []
        if stale:
            reaped = self.rt.queue.reap(timeout_s, backoff_s=0.0)
            for job_id, state in reaped:
                log.warning("reaped job %s of a dead worker: now %s", job_id, state)
        with session_scope(self.rt.sessions) as s:
            job_store.prune_workers(s, max(timeout_s * 4, 60.0))
        return reaped
