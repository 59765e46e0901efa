"""Job kinds used by the jobs tests (registered in worker processes via TAILOR_EXTRA_HANDLER_MODULES)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tailor.domain.jobs import JobCancelled, JobKind, PermanentJobError, Priority, RetryPolicy
from tailor.jobs.context import JobContext
from tailor.jobs.registry import Registry

MODULE = "tests.jobs.helpers"


@dataclass(frozen=True)
class Args:
    log: str | None = None
    value: int | None = None
    seconds: float = 1.0
    failures: int = 0
    permanent: bool = False
    pid_file: str | None = None
    steps: int = 1000


NOOP = JobKind("test_noop", Args, Priority.INTERACTIVE)
NOOP_BACKGROUND = JobKind("test_noop_background", Args, Priority.BACKGROUND)
NOOP_LONG = JobKind("test_noop_long", Args, Priority.LONG)
NOOP_TWO_TRIES = JobKind("test_noop_two_tries", Args, Priority.INTERACTIVE, RetryPolicy(max_attempts=2))
NOOP_SLOW_RETRY = JobKind("test_noop_slow_retry", Args, Priority.INTERACTIVE, RetryPolicy(backoff_s=60.0))
SLEEP = JobKind("test_sleep", Args, Priority.INTERACTIVE)
BLOCK = JobKind("test_block", Args, Priority.LONG, isolated=True)
FAIL = JobKind("test_fail", Args, Priority.INTERACTIVE, RetryPolicy(max_attempts=3))
STEPS = JobKind("test_steps", Args, Priority.LONG, isolated=True)
NOOPS = (NOOP, NOOP_BACKGROUND, NOOP_LONG, NOOP_TWO_TRIES, NOOP_SLOW_RETRY)
KINDS = {k.name: k for k in (*NOOPS, SLEEP, BLOCK, FAIL, STEPS)}


def _mark(payload: Args, ctx: JobContext, tag: str) -> None:
    """Append a line to the payload's ``log`` file (one per run), if given."""
    if payload.log:
        with open(payload.log, "a") as f:
            f.write(f"{ctx.job_id} {tag} {os.getpid()} {ctx.attempt}\n")


def noop(ctx: JobContext, payload: Args) -> dict[str, Any]:
    _mark(payload, ctx, "run")
    return {"value": payload.value, "pid": os.getpid()}


def sleep(ctx: JobContext, payload: Args) -> dict[str, Any]:
    """Sleeps ``seconds`` in small steps, reporting progress (so cancel is seen)."""
    _mark(payload, ctx, "start")
    total = payload.seconds
    steps = max(int(total / 0.05), 1)
    for i in range(steps):
        time.sleep(total / steps)
        ctx.progress(step=i + 1, total_steps=steps)
    _mark(payload, ctx, "done")
    return {"slept": total, "pid": os.getpid()}


def block(ctx: JobContext, payload: Args) -> dict[str, Any]:
    """Isolated and deaf to cancel: writes its pid, then sleeps; only killing the child stops it."""
    assert payload.pid_file
    Path(payload.pid_file).write_text(str(os.getpid()))
    ctx.progress(stage="blocking")
    time.sleep(payload.seconds)
    return {"pid": os.getpid()}


def fail(ctx: JobContext, payload: Args) -> dict[str, Any]:
    """Fails ``failures`` times (transiently), then succeeds; ``permanent`` fails at once for good."""
    _mark(payload, ctx, "run")
    if payload.permanent:
        raise PermanentJobError("bad input for test_fail", code=422)
    if ctx.attempt <= payload.failures:
        raise RuntimeError(f"transient failure {ctx.attempt}")
    return {"attempt": ctx.attempt}


def steps(ctx: JobContext, payload: Args) -> dict[str, Any]:
    """Isolated and cooperative: reports progress each step; on cancel, logs a cleanup and stops."""
    _mark(payload, ctx, "start")
    try:
        for i in range(payload.steps):
            time.sleep(0.05)
            ctx.progress(step=i + 1)
    except JobCancelled:
        _mark(payload, ctx, "cleanup")
        raise
    return {"steps": payload.steps}


def register(registry: Registry) -> None:
    for kind in NOOPS:
        registry.add(kind, noop)
    registry.add(SLEEP, sleep)
    registry.add(BLOCK, block)
    registry.add(FAIL, fail)
    registry.add(STEPS, steps)
