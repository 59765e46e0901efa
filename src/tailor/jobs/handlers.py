"""Job handlers by kind. A handler is ``fn(ctx, payload) -> result dict | None``.

Modules that define handlers register them with :func:`handler`; :func:`load_all` imports those
modules so a worker knows every kind. Heavy imports (torch) stay inside handler bodies.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from tailor.config import Settings
from tailor.store.blob_base import BlobStore
from tailor.store.leases import Lease


class JobCancelled(Exception):
    """Raised inside a handler when the job's cancel was requested."""


class PermanentJobError(Exception):
    """A failure that retrying cannot fix (bad input); the job fails at once with this message.

    ``code`` is the HTTP-like status shown in the request's ``error`` object (default 400).
    """

    def __init__(self, message: str, *, code: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


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
    # set by the worker: this attempt's claim of the job; writes fenced by it (store.leases.fenced)
    # commit only while the job is still this attempt's
    lease: Lease | None = None
    # set by the worker: report progress (and learn of cancellation) -> False when cancelled
    report: Callable[[dict[str, Any]], bool] = field(default=lambda _p: True)
    services: dict[str, Any] = field(default_factory=dict)

    def progress(self, **values: Any) -> None:
        """Report progress; raises JobCancelled when the job was asked to stop."""
        if not self.report(values):
            raise JobCancelled()


Handler = Callable[[JobContext, dict[str, Any]], dict[str, Any] | None]

_HANDLERS: dict[str, Handler] = {}
# Kinds whose handler must run in a supervised child process (long ML work: killable on cancel).
ISOLATED_KINDS: set[str] = set()

# Modules whose import registers handlers. Add a module here when it defines a new kind.
HANDLER_MODULES: list[str] = [
    "tailor.jobs.webhooks",
    "tailor.jobs.structured_prompt",
    "tailor.engine.handlers",
    "tailor.bridge.handlers",
    "tailor.services.bulk_upload",
    "tailor.engine.training.handlers",
]


# Per-kind hooks run in the same transaction when a job ends failed or cancelled, wherever that is
# decided (the worker, the reaper, a cancel): ``fn(session, job)`` settles the records the job served.
FailureHook = Callable[[Any, Any], None]
_FAILURE_HOOKS: dict[str, FailureHook] = {}


def on_failure(kind: str) -> Callable[[FailureHook], FailureHook]:
    """Register what to do with a ``kind`` job's records when the job ends without completing."""

    def register(fn: FailureHook) -> FailureHook:
        _FAILURE_HOOKS[kind] = fn
        return fn

    return register


def failure_hook(kind: str) -> FailureHook | None:
    """The hook of ``kind``; handler modules are imported first, so every process (API or worker)
    settles records the same way (they import no ML libraries at module level)."""
    if kind not in _FAILURE_HOOKS:
        load_all()
    return _FAILURE_HOOKS.get(kind)


def handler(kind: str, *, isolated: bool = False) -> Callable[[Handler], Handler]:
    """Register ``fn`` for ``kind``; ``isolated=True`` runs it in a supervised child process."""

    def register(fn: Handler) -> Handler:
        _HANDLERS[kind] = fn
        if isolated:
            ISOLATED_KINDS.add(kind)
        return fn

    return register


def load_all(extra_modules: Iterable[str] = ()) -> dict[str, Handler]:
    """Import every handler module (plus ``extra_modules``) and return the handlers by kind."""
    for mod in [*HANDLER_MODULES, *extra_modules]:
        importlib.import_module(mod)
    return dict(_HANDLERS)


def get(kind: str) -> Handler:
    if kind not in _HANDLERS:
        load_all()
    return _HANDLERS[kind]


def is_isolated(kind: str) -> bool:
    return kind in ISOLATED_KINDS
