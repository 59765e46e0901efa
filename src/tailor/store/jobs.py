"""Worker rows (``workers`` table) and read-only job statistics for metrics and the CLI."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.orm import Session

from tailor.domain.enums import JobState
from tailor.store.tables import Job, Worker


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def register_worker(session: Session, worker_id: str, hostname: str, pid: int, kinds: list[str]) -> None:
    row = session.get(Worker, worker_id)
    if row is None:
        session.add(Worker(id=worker_id, hostname=hostname, pid=pid, kinds=kinds, heartbeat_at=_now()))
    else:
        row.heartbeat_at = _now()
        row.kinds = kinds
    session.flush()


def beat_worker(session: Session, worker_id: str) -> bool:
    """Refresh a worker's heartbeat; False when its row is gone (pruned as dead)."""
    res = session.execute(update(Worker).where(Worker.id == worker_id).values(heartbeat_at=_now()))
    n = res.rowcount  # type: ignore[attr-defined]
    return bool(n)


def remove_worker(session: Session, worker_id: str) -> None:
    session.execute(delete(Worker).where(Worker.id == worker_id))


def prune_workers(session: Session, timeout_s: float) -> int:
    """Delete rows of workers silent for longer than ``timeout_s``."""
    cutoff = _now() - timedelta(seconds=timeout_s)
    res = session.execute(delete(Worker).where(Worker.heartbeat_at < cutoff))
    return int(res.rowcount or 0)  # type: ignore[attr-defined]


def live_workers(session: Session, timeout_s: float) -> list[Worker]:
    cutoff = _now() - timedelta(seconds=timeout_s)
    return list(session.scalars(select(Worker).where(Worker.heartbeat_at >= cutoff)).all())


def has_stale_running_jobs(session: Session, timeout_s: float) -> bool:
    """A cheap check before the reaper takes a write lock."""
    cutoff = _now() - timedelta(seconds=timeout_s)
    q = select(Job.id).where(Job.state == JobState.running, Job.heartbeat_at < cutoff).limit(1)
    return session.scalar(q) is not None


@dataclass(frozen=True)
class QueueStat:
    kind: str
    state: str
    count: int
    oldest_created_at: datetime | None


def queue_stats(session: Session) -> list[QueueStat]:
    """Job counts by kind and state, with the oldest creation time (for queue age)."""
    rows = session.execute(
        select(Job.kind, Job.state, func.count(Job.id), func.min(Job.created_at)).group_by(
            Job.kind, Job.state
        )
    ).all()
    return [QueueStat(r[0], r[1], int(r[2]), _aware(r[3])) for r in rows]


@dataclass(frozen=True)
class DurationStat:
    kind: str
    state: str
    count: int
    total_s: float


def finished_durations(session: Session) -> list[DurationStat]:
    """Per kind and terminal state: how many finished jobs, and their summed run time (seconds)."""
    if session.get_bind().dialect.name == "sqlite":
        seconds = (func.julianday(Job.finished_at) - func.julianday(Job.started_at)) * 86400.0
    else:
        seconds = func.extract("epoch", Job.finished_at - Job.started_at)
    rows = session.execute(
        select(Job.kind, Job.state, func.count(Job.id), func.coalesce(func.sum(seconds), 0.0))
        .where(Job.finished_at.is_not(None), Job.started_at.is_not(None))
        .group_by(Job.kind, Job.state)
    ).all()
    return [DurationStat(r[0], r[1], int(r[2]), max(float(r[3] or 0.0), 0.0)) for r in rows]


@dataclass(frozen=True)
class QueuePlace:
    """Where a job stands: running, or queued behind what (for status bodies and the console).

    ``ahead`` is (kind, state, count) of the jobs the same workers take first: those running on
    them and the queued ones they would claim before this one. ``workers`` counts the live workers
    that take this kind, ``idle_workers`` those of them not running a job.
    """

    state: str
    position: int | None = None
    ahead: list[tuple[str, str, int]] = field(default_factory=list)
    workers: int = 0
    idle_workers: int = 0
    retry_at: datetime | None = None


def queue_place(session: Session, job: Job, timeout_s: float) -> QueuePlace:
    """``job``'s place in the queue, judged by the live workers' kinds (workers silent for longer
    than ``timeout_s`` are not counted). Counts only: nothing of other jobs but their kind."""
    able = [w for w in live_workers(session, timeout_s) if w.kinds is None or job.kind in w.kinds]
    busy_ids = set(
        session.scalars(
            select(Job.worker_id).where(
                Job.state == JobState.running, Job.worker_id.in_([w.id for w in able])
            )
        ).all()
    )
    idle = len(able) - len(busy_ids)
    if job.state == JobState.running:
        return QueuePlace(state="running", workers=len(able), idle_workers=idle)
    ahead: list[tuple[str, str, int]] = []
    if busy_ids:
        running = session.execute(
            select(Job.kind, func.count(Job.id))
            .where(Job.state == JobState.running, Job.worker_id.in_(busy_ids))
            .group_by(Job.kind)
            .order_by(Job.kind)
        ).all()
        ahead += [(str(k), "running", int(n)) for k, n in running]
    q = (
        select(Job.kind, func.count(Job.id))
        .where(Job.state == JobState.queued, Job.id != job.id)
        .where(or_(Job.run_after.is_(None), Job.run_after <= _now()))
        .where(or_(Job.priority < job.priority, and_(Job.priority == job.priority, Job.id < job.id)))
    )
    if able and all(w.kinds is not None for w in able):
        competing = sorted({str(k) for w in able for k in (w.kinds or [])})
        q = q.where(Job.kind.in_(competing))
    elif not able:
        q = q.where(Job.kind == job.kind)
    queued = session.execute(q.group_by(Job.kind).order_by(Job.kind)).all()
    ahead += [(str(k), "queued", int(n)) for k, n in queued]
    position = 1 + sum(n for _k, state, n in ahead if state == "queued")
    retry_at = _aware(job.run_after)
    if retry_at is not None and retry_at <= _now():
        retry_at = None
    return QueuePlace(
        state="queued",
        position=position,
        ahead=ahead,
        workers=len(able),
        idle_workers=idle,
        retry_at=retry_at,
    )
