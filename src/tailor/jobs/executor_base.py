"""How a worker runs one claimed job: the executor interface (local processes today, Ray later).

A worker claims a job, asks its executor to ``start`` it, then ``wait``s on the execution while it
heartbeats; ``cancel`` asks the execution to stop (cooperatively for in-process handlers, by killing
the supervised child for isolated ones). The worker records the :class:`Outcome` in the queue.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from tailor.jobs.handlers import JobContext
from tailor.store.tables import Job


class OutcomeKind(StrEnum):
    completed = "completed"
    failed = "failed"  # the handler raised; ``retry`` says whether another attempt may help
    cancelled = "cancelled"  # stopped on request (JobCancelled, or the child was killed)
    crashed = "crashed"  # the process running the handler died without an answer


@dataclass(frozen=True)
class Outcome:
    kind: OutcomeKind
    result: dict[str, Any] | None = None
    error: str | None = None
    code: int | None = None
    retry: bool = False


class Execution(ABC):
    """One job being run."""

    @abstractmethod
    def wait(self, timeout_s: float) -> Outcome | None:
        """The outcome, or None if the job is still running after ``timeout_s``."""

    @abstractmethod
    def cancel(self) -> None:
        """Stop the job: forcibly where the executor can (child process), else cooperatively."""


class Executor(ABC):
    """Starts claimed jobs; one per worker."""

    @abstractmethod
    def start(self, job: Job, ctx: JobContext, worker_id: str) -> Execution:
        """Begin running ``job`` with ``ctx`` (already bound to the job) and return its execution."""

    def close(self) -> None:  # noqa: B027  (optional hook)
        """Release what the executor holds (child processes, pools)."""
