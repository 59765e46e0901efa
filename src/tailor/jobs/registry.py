"""The registry of job kinds a process knows: each kind's declaration, its handler and its failure hook.

Built once by the composition root (``tailor.worker.handlers.build_registry``) and handed to the
queue (which needs each kind's retry policy and failure hook) and to workers (which need the
handlers). Nothing here imports a handler: registration is explicit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from tailor.domain.jobs import JobKind, PermanentJobError
from tailor.store.tables import Job

P = TypeVar("P")

#: ``fn(ctx, payload) -> result dict | None``; ``ctx`` is a ``tailor.jobs.context.JobContext``.
Handler = Callable[[Any, Any], dict[str, Any] | None]
#: ``fn(session, job)``: settle the records of a job that ended without completing, in that transaction.
FailureHook = Callable[[Session, Job], None]
#: ``fn(session, job)``: run for every job that reaches a terminal state, in that transaction.
TerminalHook = Callable[[Session, Job], None]


@dataclass(frozen=True)
class Registration:
    kind: JobKind[Any]
    handler: Handler
    on_failure: FailureHook | None = None


class Registry:
    """Kinds by name, with their handlers and hooks."""

    def __init__(self) -> None:
        self._by_name: dict[str, Registration] = {}
        self._terminal_hooks: list[TerminalHook] = []

    def add(
        self,
        kind: JobKind[P],
        handler: Callable[[Any, P], dict[str, Any] | None],
        *,
        on_failure: FailureHook | None = None,
    ) -> None:
        if kind.name in self._by_name:
            raise ValueError(f"job kind {kind.name!r} is registered twice")
        self._by_name[kind.name] = Registration(kind, handler, on_failure)

    def on_terminal(self, hook: TerminalHook) -> None:
        """Run ``hook`` whenever a job reaches a terminal state (e.g. to schedule its webhook)."""
        self._terminal_hooks.append(hook)

    @property
    def names(self) -> list[str]:
        return sorted(self._by_name)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def get(self, name: str) -> Registration:
        try:
            return self._by_name[name]
        except KeyError:
            raise PermanentJobError(f"no handler for job kind {name!r}", code=500) from None

    def kind(self, name: str) -> JobKind[Any]:
        return self.get(name).kind

    def settle(self, session: Session, job: Job, *, completed: bool) -> None:
        """In the transaction that ended ``job``: its kind's failure hook (when it did not complete),
        then every terminal hook."""
        if not completed:
            registration = self._by_name.get(job.kind)
            if registration is not None and registration.on_failure is not None:
                registration.on_failure(session, job)
        for hook in self._terminal_hooks:
            hook(session, job)

    def extend(self, registrations: Iterable[Registration]) -> None:
        for r in registrations:
            self.add(r.kind, r.handler, on_failure=r.on_failure)
