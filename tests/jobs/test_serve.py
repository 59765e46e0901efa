"""``tailor serve`` end to end: the API with its supervised local workers, stopped and started again."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx

from tailor.bootstrap import Runtime
from tailor.config import Settings
from tailor.domain.enums import JobState
from tests.jobs.conftest import REPO, wait_until, worker_env
from tests.jobs.test_workers import _add, _lines, _state

TAILOR = str(Path(sys.executable).parent / "tailor")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(settings: Settings, port: int) -> subprocess.Popen[bytes]:
    env = {
        **worker_env(settings),
        "TAILOR_WORKERS": "2",
        "TAILOR_PORT": str(port),
        "TAILOR_HOST": "127.0.0.1",
    }
    proc = subprocess.Popen([TAILOR, "serve"], env=env, cwd=REPO, stdout=subprocess.DEVNULL)

    def up() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return proc.poll() is not None

    wait_until(up, timeout_s=60, what="tailor serve to answer")
    assert proc.poll() is None
    return proc


def test_serve_runs_jobs_and_a_restart_loses_no_queued_job(
    runtime: Runtime, settings: Settings, tmp_path: Path
) -> None:
    log = tmp_path / "runs.log"
    port = _free_port()
    server = _serve(settings, port)
    try:
        token = settings.token_file.read_text().strip()
        r = httpx.post(
            f"http://127.0.0.1:{port}/v2/structured_prompt/generate",
            json={"prompt": "a windmill", "sync": True},
            headers={"api_token": token},
            timeout=60,
        )
        assert r.status_code == 200, r.text  # answered by a worker process, not by the API
        ids = [_add(runtime, "test_sleep", {"log": str(log), "seconds": 0.3}) for _ in range(10)]
        wait_until(lambda: any(runtime.queue.is_terminal(j) for j in ids), what="a job to finish")
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=60) == 0
        states = Counter(_state(runtime, j) for j in ids)
        assert set(states) <= {JobState.completed, JobState.queued}, states
        server = _serve(settings, port)
        wait_until(lambda: all(runtime.queue.is_terminal(j) for j in ids), what="the rest after restart")
        assert all(_state(runtime, j) == JobState.completed for j in ids)
        done = Counter(job for job, tag, _p, _a in _lines(log) if tag == "done")
        assert done == Counter(ids)
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
    time.sleep(0.5)
    with runtime.sessions() as s:
        from tailor.store.jobs import live_workers

        assert live_workers(s, 60) == []  # the workers went down with the server


def test_tailor_worker_command_runs_jobs_and_stops_on_sigterm(runtime: Runtime, settings: Settings) -> None:
    proc = subprocess.Popen(
        [TAILOR, "worker", "--processes", "2"], env=worker_env(settings), cwd=REPO, stderr=subprocess.DEVNULL
    )
    try:
        ids = [_add(runtime, "test_noop", {}) for _ in range(5)]
        wait_until(lambda: all(runtime.queue.is_terminal(j) for j in ids), what="the jobs")
        assert all(_state(runtime, j) == JobState.completed for j in ids)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    with runtime.sessions() as s:
        from tailor.store.jobs import live_workers

        assert live_workers(s, 60) == []
