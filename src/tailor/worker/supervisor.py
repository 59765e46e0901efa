"""Worker processes: the entry point of one (``python -m tailor.worker.supervisor``) and the supervisor that
``tailor serve`` / ``tailor worker --processes N`` use to keep N of them alive.

A worker process stops gracefully on SIGTERM or SIGINT (a second signal stops it at once, requeueing
its job), and on its own when the supervising parent has gone away.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from types import FrameType

log = logging.getLogger(__name__)

PARENT_PID_ENV = "TAILOR_WORKER_PARENT_PID"


def run_worker(*, kinds: list[str] | None = None, install_signals: bool = True) -> int:
    """Run one worker in this process with the settings from the environment, until stopped."""
    from tailor.bootstrap import build_runtime
    from tailor.config import load_settings
    from tailor.worker.loop import Worker

    settings = load_settings()
    rt = build_runtime(settings)
    worker = Worker(rt, kinds=kinds)
    parent = int(os.environ.get(PARENT_PID_ENV, "0") or 0)

    if install_signals:

        def on_signal(signum: int, _frame: FrameType | None) -> None:
            if worker.stopping:
                log.warning("worker %s: second signal, stopping now", worker.id)
                worker.stop(grace_s=0)
            else:
                log.info("worker %s: signal %d, finishing the running job", worker.id, signum)
                worker.stop()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)

    if parent:

        def watch_parent() -> None:
            while not worker.stopping:
                if os.getppid() != parent:
                    log.warning("worker %s: supervisor %d is gone; stopping", worker.id, parent)
                    worker.stop()
                    return
                time.sleep(1.0)

        threading.Thread(target=watch_parent, daemon=True).start()
    try:
        worker.run()
    finally:
        rt.close()
    return 0


def parse_devices(text: str) -> list[str]:
    """``TAILOR_DEVICES`` ("cuda:0,cuda:1") as a list; empty when unset."""
    return [d.strip() for d in text.split(",") if d.strip()]


def device_for(slot: int, devices: list[str]) -> str:
    """The device of local worker ``slot``: worker i gets device i mod n."""
    return devices[slot % len(devices)]


class WorkerSupervisor:
    """Keeps ``count`` local worker processes running; restarts one that dies (with backoff)."""

    def __init__(
        self,
        count: int,
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        devices: list[str] | None = None,
    ) -> None:
        self.count = count
        self.env = dict(env if env is not None else os.environ)
        self.devices = devices or parse_devices(self.env.get("TAILOR_DEVICES", ""))
        self.cwd = cwd
        self.procs: list[subprocess.Popen[bytes] | None] = [None] * count
        self._started_at = [0.0] * count
        self._delay = [0.0] * count
        self._next_start = [0.0] * count
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.restarts = 0

    def _spawn(self, slot: int) -> None:
        env = {**self.env, PARENT_PID_ENV: str(os.getpid())}
        if self.devices:  # one device per worker, round robin: each knows its GPU
            env["TAILOR_DEVICE"] = device_for(slot, self.devices)
        # Own process group: a terminal's Ctrl-C reaches the supervisor only, which then stops the
        # workers with one SIGTERM (a second signal would make them drop their running job).
        proc = subprocess.Popen(
            [sys.executable, "-m", "tailor.worker.supervisor"], env=env, cwd=self.cwd, start_new_session=True
        )
        self.procs[slot] = proc
        self._started_at[slot] = time.monotonic()
        log.info("started worker process %d (slot %d)", proc.pid, slot)

    def start(self) -> None:
        with self._lock:
            for slot in range(self.count):
                self._spawn(slot)
        self._thread = threading.Thread(target=self._watch, name="worker-supervisor", daemon=True)
        self._thread.start()

    def pids(self) -> list[int]:
        with self._lock:
            return [p.pid for p in self.procs if p is not None and p.poll() is None]

    def _watch(self) -> None:
        while not self._stop.wait(0.25):
            with self._lock:
                if self._stop.is_set():
                    return
                now = time.monotonic()
                for slot, proc in enumerate(self.procs):
                    if proc is not None and proc.poll() is None:
                        continue
                    if proc is not None:
                        lived = now - self._started_at[slot]
                        # a worker that dies right after starting is crash-looping: back off
                        self._delay[slot] = 0.0 if lived > 30 else min(max(self._delay[slot] * 2, 0.5), 30.0)
                        self._next_start[slot] = now + self._delay[slot]
                        log.warning(
                            "worker process %d exited with %s; restarting in %.1fs",
                            proc.pid,
                            proc.returncode,
                            self._delay[slot],
                        )
                        self.procs[slot] = None
                    if now >= self._next_start[slot]:
                        self._spawn(slot)
                        self.restarts += 1

    def stop(self, timeout_s: float = 60.0) -> None:
        """SIGTERM every worker (they finish or requeue their job), then SIGKILL what is left."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._lock:
            procs = [p for p in self.procs if p is not None]
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        for p in procs:
            try:
                p.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                log.warning("worker process %d did not stop; killing it", p.pid)
                p.kill()
                p.wait()


def main() -> None:
    logging.basicConfig(
        level=os.environ.get("TAILOR_LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s[%(process)d]: %(message)s",
    )
    kinds = os.environ.get("TAILOR_WORKER_KINDS")
    sys.exit(run_worker(kinds=[k for k in kinds.split(",") if k] if kinds else None))


if __name__ == "__main__":
    main()
