"""What a job handler is given: the process's stores and resources, bound to the job it runs.

The contract between the queue's workers and the handlers (and the engine code they call)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from tailor.config import Settings
from tailor.domain.jobs import JobCancelled
from tailor.store.blob_base import BlobStore
from tailor.store.leases import Lease

if TYPE_CHECKING:  # types only: the composition root builds them (see ``bootstrap.Resources``)
    from tailor.bridge.service import Bridge
    from tailor.engine.generation import Generator


class Resources(Protocol):
    """The process's long-lived ML collaborators, each built on first use."""

    def bridge(self) -> Bridge: ...

    def generator(self) -> Generator: ...

    def release_generator(self) -> bool: ...


@dataclass
class JobContext:
    """Built by the worker for each job from the process's runtime (``Runtime.job_context``)."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    blobs: BlobStore
    resources: Resources
    job_id: int = 0
    organization_id: int | None = None
    attempt: int = 1
    # set by the worker: this attempt's claim of the job; writes fenced by it (store.leases.fenced)
    # commit only while the job is still this attempt's
    lease: Lease | None = None
    # set by the worker: report progress (and learn of cancellation) -> False when cancelled
    report: Callable[[dict[str, Any]], bool] = field(default=lambda _p: True)

    def progress(self, **values: Any) -> None:
        """Report progress; raises JobCancelled when the job was asked to stop."""
        if not self.report(values):
            raise JobCancelled()
