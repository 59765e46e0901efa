"""Where a job stands, as clients see it: running, or queued in what position behind what.

Status bodies (``/v2/status``, bulk-upload status, models in training) carry this as an added
``queue`` object, so that a wait is never silent::

    {"state": "queued", "position": 2, "ahead": [{"kind": "train_model", "state": "running", "count": 1}],
     "workers": 1, "idle_workers": 0, "message": "queued, position 2: behind 1 running train_model job"}
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from tailor.domain.enums import JobState
from tailor.store import jobs as job_store
from tailor.store.tables import Job


def _jobs(n: int, kind: str, state: str) -> str:
    return f"{n} {state} {kind} job{'s' if n != 1 else ''}"


def message(kind: str, place: job_store.QueuePlace) -> str:
    """One line a person can read: what the job is doing or waiting for."""
    if place.state == "running":
        return "running"
    if place.retry_at is not None:
        return f"waiting to retry at {place.retry_at:%H:%M:%S} UTC"
    if place.workers == 0:
        return (
            f"queued: no running worker takes {kind} jobs (start one with `tailor serve` or `tailor worker`)"
        )
    line = f"queued, position {place.position}"
    if place.ahead:
        line += ": behind " + " and ".join(_jobs(n, k, state) for k, state, n in place.ahead)
    elif place.idle_workers:
        line += ": a worker is about to take it"
    return line


def queue_body(session: Session, job: Job | None, timeout_s: float) -> dict[str, Any] | None:
    """The ``queue`` object of a queued or running job (None for a job that has ended)."""
    if job is None or job.state not in (JobState.queued, JobState.running):
        return None
    place = job_store.queue_place(session, job, timeout_s)
    body: dict[str, Any] = {"state": place.state}
    if place.state == "queued":
        body["position"] = place.position
        body["ahead"] = [{"kind": k, "state": state, "count": n} for k, state, n in place.ahead]
        if place.retry_at is not None:
            body["retry_at"] = place.retry_at.isoformat()
    body["workers"] = place.workers
    body["idle_workers"] = place.idle_workers
    body["message"] = message(job.kind, place)
    return body
