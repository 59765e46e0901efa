"""Fixtures for the jobs tests: a settings object with fast heartbeats, and real worker processes."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tailor.config import Settings
from tests.conftest import REPO, make_settings, process_env
from tests.jobs.helpers import MODULE

FAST = {
    "extra_handler_modules": MODULE,
    "heartbeat_interval_s": 0.2,
    "heartbeat_timeout_s": 6.0,  # a 2 s silence is ordinary on a loaded 2-core host
    "worker_poll_interval_s": 0.05,
    "job_retry_backoff_s": 0.0,
    "worker_shutdown_grace_s": 10.0,
    "job_cancel_grace_s": 1.0,
}


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return make_settings(tmp_path / "home", db_url, **FAST)


def worker_env(settings: Settings) -> dict[str, str]:
    """Environment for worker processes that share the test's database and blob store."""
    return process_env(
        settings,
        TAILOR_EXTRA_HANDLER_MODULES=MODULE,
        TAILOR_HEARTBEAT_INTERVAL_S=str(settings.heartbeat_interval_s),
        TAILOR_HEARTBEAT_TIMEOUT_S=str(settings.heartbeat_timeout_s),
        TAILOR_WORKER_POLL_INTERVAL_S=str(settings.worker_poll_interval_s),
        TAILOR_JOB_RETRY_BACKOFF_S="0",
        TAILOR_WORKER_SHUTDOWN_GRACE_S=str(settings.worker_shutdown_grace_s),
        TAILOR_JOB_CANCEL_GRACE_S=str(settings.job_cancel_grace_s),
    )


@pytest.fixture
def spawn_worker(settings: Settings) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Start real worker processes (``python -m tailor.worker.supervisor``); all are stopped at the end."""
    procs: list[subprocess.Popen[bytes]] = []

    def spawn(**env: str) -> subprocess.Popen[bytes]:
        p = subprocess.Popen(
            [sys.executable, "-m", "tailor.worker.supervisor"], env={**worker_env(settings), **env}, cwd=REPO
        )
        procs.append(p)
        return p

    yield spawn
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.wait(timeout=10)


def wait_until(predicate: Callable[[], object], timeout_s: float = 30.0, what: str = "condition") -> None:
    """Poll ``predicate`` until it is truthy; fail the test after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)
