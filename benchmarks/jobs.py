"""Job queue figures: no-op throughput with 1 and 2 worker processes, and enqueue-to-start latency,
on SQLite and PostgreSQL.

    .venv/bin/python benchmarks/jobs.py [--jobs 300] [--pg postgresql://postgres@127.0.0.1:5432/test]

PostgreSQL runs in a throwaway database created next to the given URL (skipped when unreachable).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tailor.domain.jobs import JobKind, Priority
from tailor.jobs.context import JobContext
from tailor.jobs.registry import Registry

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


@dataclass(frozen=True)
class NoArgs:
    pass


BENCH_NOOP = JobKind("bench_noop", NoArgs, Priority.INTERACTIVE)


def bench_noop(ctx: JobContext, payload: NoArgs) -> dict[str, Any]:
    """Does nothing: what is measured is the queue."""
    return {}


def register(registry: Registry) -> None:
    registry.add(BENCH_NOOP, bench_noop)


@contextmanager
def pg_database(base_url: str) -> Iterator[str]:
    from sqlalchemy import create_engine, text

    from tailor.store.db import _normalise_url

    base = _normalise_url(base_url)
    name = f"tailor_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _env(home: Path, db_url: str, poll_s: float) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "TAILOR_HOME": str(home),
            "TAILOR_DATABASE_URL": db_url,
            "TAILOR_SECRET_KEY": "bench",
            "TAILOR_EXTRA_HANDLER_MODULES": "jobs",
            "TAILOR_WORKER_POLL_INTERVAL_S": str(poll_s),
            "TAILOR_LOG_LEVEL": "WARNING",
            "PYTHONPATH": os.pathsep.join([str(HERE), str(REPO / "src")]),
        }
    )
    return env


def _wait_workers(rt: Any, n: int) -> None:
    from tailor.store.jobs import live_workers

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with rt.sessions() as s:
            if len(live_workers(s, 30)) >= n:
                return
        time.sleep(0.05)
    raise RuntimeError("workers did not start")


def _enqueue(rt: Any, n: int) -> list[int]:
    from tailor.jobs.queue import enqueue
    from tailor.store.db import session_scope

    with session_scope(rt.sessions) as s:
        return [enqueue(s, BENCH_NOOP, NoArgs(), organization_id=None).id for _ in range(n)]


def _pending(rt: Any) -> int:
    from sqlalchemy import func, select

    from tailor.store.tables import Job

    with rt.sessions() as s:
        return int(s.scalar(select(func.count(Job.id)).where(Job.state.in_(["queued", "running"]))) or 0)


def _clear(rt: Any) -> None:
    from sqlalchemy import delete

    from tailor.store.db import session_scope
    from tailor.store.tables import Job

    with session_scope(rt.sessions) as s:
        s.execute(delete(Job))


def run_backend(label: str, db_url: str, jobs: int) -> None:
    from tailor.bootstrap import build_runtime
    from tailor.config import Settings
    from tailor.store.tables import Job

    home = Path(tempfile.mkdtemp(prefix="tailor-bench-"))
    rt = build_runtime(Settings(home=home, database_url=db_url, secret_key="bench"), migrate=True)
    for workers, poll_s in ((1, 0.25), (2, 0.25)):
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "tailor.worker.supervisor"], env=_env(home, db_url, poll_s)
            )
            for _ in range(workers)
        ]
        try:
            _wait_workers(rt, workers)
            _clear(rt)
            t0 = time.perf_counter()
            _enqueue(rt, jobs)
            while _pending(rt):
                time.sleep(0.01)
            elapsed = time.perf_counter() - t0
            print(
                f"{label:10s} workers={workers}  {jobs} no-op jobs in {elapsed:6.2f}s"
                f" = {jobs / elapsed:7.1f} jobs/s"
            )
            if workers == 1:
                lat = []
                for _ in range(20):
                    (job_id,) = _enqueue(rt, 1)
                    while _pending(rt):
                        time.sleep(0.005)
                    with rt.sessions() as s:
                        job = s.get(Job, job_id)
                        lat.append((job.started_at - job.created_at).total_seconds())  # type: ignore[operator,union-attr]
                    time.sleep(0.137)  # land at different points of the poll cycle
                lat.sort()
                print(
                    f"{label:10s} enqueue->start latency (idle worker, poll {poll_s}s): "
                    f"median {statistics.median(lat) * 1000:.0f} ms, "
                    f"p95 {lat[int(0.95 * len(lat)) - 1] * 1000:.0f} ms, "
                    f"max {lat[-1] * 1000:.0f} ms"
                )
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                p.wait(timeout=30)
    rt.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=300)
    ap.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="tailor-bench-db-"))
    run_backend("sqlite", f"sqlite:///{tmp / 'bench.db'}", args.jobs)
    try:
        with pg_database(args.pg) as url:
            run_backend("postgresql", url, args.jobs)
    except Exception as e:  # no server here
        print(f"postgresql: skipped ({type(e).__name__}: {e})")


if __name__ == "__main__":
    main()
