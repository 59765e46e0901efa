"""Job kinds used by the jobs tests (imported by worker processes via TAILOR_EXTRA_HANDLER_MODULES)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from tailor.jobs.handlers import JobCancelled, JobContext, PermanentJobError, handler

MODULE = "tests.jobs.helpers"


def _mark(payload: dict[str, Any], ctx: JobContext, tag: str) -> None:
    """Append a line to the payload's ``log`` file (one per run), if given."""
    path = payload.get("log")
    if path:
        with open(path, "a") as f:
            f.write(f"{ctx.job_id} {tag} {os.getpid()} {ctx.attempt}\n")


@handler("test_noop")
def noop(ctx: JobContext, payload: dict[str, Any]) -> dict[str, Any]:
    _mark(payload, ctx, "run")
    return {"value": payload.get("value"), "pid": os.getpid()}


@handler("test_sleep")
def sleep(ctx: JobContext, payload: dict[str, Any]) -> dict[str, Any]:
    """Sleeps ``seconds`` in small steps, reporting progress (so cancel is seen)."""
    _mark(payload, ctx, "start")
    total = float(payload.get("seconds", 1.0))
    steps = max(int(total / 0.05), 1)
    for i in range(steps):
        time.sleep(total / steps)
        ctx.progress(step=i + 1, total_steps=steps)
    _mark(payload, ctx, "done")
    return {"slept": total, "pid": os.getpid()}


@handler("test_block", isolated=True)
def block(ctx: JobContext, payload: dict[str, Any]) -> dict[str, Any]:
    """Isolated and deaf to cancel: writes its pid, then sleeps; only killing the child stops it."""
    Path(payload["pid_file"]).write_text(str(os.getpid()))
    ctx.progress(stage="blocking")
    time.sleep(float(payload.get("seconds", 60)))
    return {"pid": os.getpid()}


@handler("test_fail")
def fail(ctx: JobContext, payload: dict[str, Any]) -> dict[str, Any]:
    """Fails ``failures`` times (transiently), then succeeds; ``permanent`` fails at once for good."""
    _mark(payload, ctx, "run")
    if payload.get("permanent"):
        raise PermanentJobError("bad input for test_fail", code=422)
    if ctx.attempt <= int(payload.get("failures", 0)):
        raise RuntimeError(f"transient failure {ctx.attempt}")
    return {"attempt": ctx.attempt}


@handler("test_steps", isolated=True)
def steps(ctx: JobContext, payload: dict[str, Any]) -> dict[str, Any]:
    """Isolated and cooperative: reports progress each step; on cancel, logs a cleanup and stops."""
    _mark(payload, ctx, "start")
    try:
        for i in range(int(payload.get("steps", 1000))):
            time.sleep(0.05)
            ctx.progress(step=i + 1)
    except JobCancelled:
        _mark(payload, ctx, "cleanup")
        raise
    return {"steps": payload.get("steps")}
