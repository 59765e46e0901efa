"""Job handlers by kind. A handler is ``fn(ctx, payload) -> result dict | None``.

Modules that define handlers register them with :func:`handler`; :func:`load_all` imports those
modules so a worker knows every kind. Heavy imports (torch) stay inside handler bodies.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from tailor.config import Settings
from tailor.store.blob_base import BlobStore


class JobCancelled(Exception):
    """Raised inside a handler when the job's cancel was requested."""


class PermanentJobError(Exception):
    """A failure that retrying cannot fix (bad input); the job fails at once with this message."""


@dataclass
class JobContext:
    """What a handler may use. Built once per worker process by ``bootstrap``."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    blobs: BlobStore
    job_id: int = 0
    organization_id: int | None = None
    attempt: int = 1
    # set by the worker: report progress (and learn of cancellation) -> False when cancelled
    report: Callable[[dict[str, Any]], bool] = field(default=lambda _p: True)
    services: dict[str, Any] = field(default_factory=dict)

    def progress(self, **values: Any) -> None:
        """Report progress; raises JobCancelled when the job was asked to stop."""
        if not self.report(values):
            raise JobCancelled()


Handler = Callable[[JobContext, dict[str, Any]], dict[str, Any] | None]

_HANDLERS: dict[str, Handler] = {}

# Modules whose import registers handlers. Add a module here when it defines a new kind.
HANDLER_MODULES: list[str] = []


def handler(kind: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        _HANDLERS[kind] = fn
        return fn

    return register


def load_all() -> dict[str, Handler]:
    for mod in HANDLER_MODULES:
        importlib.import_module(mod)
    return dict(_HANDLERS)


def get(kind: str) -> Handler:
    load_all()
    return _HANDLERS[kind]
