"""How a worker runs one claimed job: the executor interface (local threads and processes today,
Ray later).

A worker claims a job, asks its executor to ``start`` it, then ``wait``s on the execution while it
heartbeats; ``cancel`` asks the execution to stop (cooperatively for in-process handlers, by killing
the supervised child for isolated ones). The worker records the :class:`Outcome` in the queue.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from tailor.domain.jobs import Failure, FailureKind
from tailor.jobs.context import JobContext
from tailor.store.tables import Job


@dataclass(frozen=True)
class Outcome:
    """A finished attempt: a result, or the failure that ended it."""

    result: dict[str, Any] | None = None
    failure: Failure | None = None

    @property
    def completed(self) -> bool:
        return self.failure is None

    @classmethod
    def crashed(cls, message: str) -> Outcome:
        """The process or thread running the handler ended without an answer (worth retrying)."""
        return cls(failure=Failure(FailureKind.transient, 500, message))

    @classmethod
    def cancelled(cls) -> Outcome:
        return cls(failure=Failure(FailureKind.cancelled, 409, "cancelled"))


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
