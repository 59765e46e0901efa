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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import FrameType
from typing import TYPE_CHECKING

from tailor.config import Settings, training_device_groups

if TYPE_CHECKING:
    from tailor.worker.executor_ray import RayWorkers

log = logging.getLogger(__name__)

PARENT_PID_ENV = "TAILOR_WORKER_PARENT_PID"
KINDS_ENV = "TAILOR_WORKER_KINDS"
TRAINING_DEVICES_ENV = "TAILOR_TRAINING_DEVICES"


def plan_lanes(workers: int, long_workers: int, kinds: Iterable[tuple[str, bool]]) -> list[list[str] | None]:
    """The kinds each local worker process takes: ``workers`` processes for short work and
    ``long_workers`` more reserved for long work (training), so that generation, captions and
    uploads never wait behind a training run. ``kinds`` is (name, is_long) for every known kind.
    Without long workers (or without any worker) every process takes every kind (None)."""
    if workers <= 0:
        return []
    if long_workers <= 0:
        return [None] * workers
    pairs = list(kinds)
    short = sorted(name for name, is_long in pairs if not is_long)
    long = sorted(name for name, is_long in pairs if is_long)
    if not long or not short:
        return [None] * workers
    lanes: list[list[str] | None] = [short] * workers
    return lanes + [long] * long_workers


def run_worker(*, kinds: list[str] | None = None, install_signals: bool = True) -> int:
    """Run one worker in this process with the settings from the environment, until stopped."""
    from tailor.bootstrap import build_runtime
    from tailor.config import load_settings
    from tailor.worker.loop import Worker

    settings = load_settings()
    rt = build_runtime(settings)
    worker: Worker | RayWorkers
    if settings.executor == "ray":
        from tailor.worker.executor_ray import RayWorkers  # the optional ray extra

        worker = RayWorkers(rt, kinds=kinds)
    else:
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


@dataclass(frozen=True)
class Placement:
    """Where one local worker runs: its ``TAILOR_DEVICE`` and, for a worker that trains, the
    devices of its training runs' ranks (``TAILOR_TRAINING_DEVICES``); None: as configured."""

    device: str | None = None
    training_devices: str | None = None
    trains: bool = True
    generates: bool = True


def place_workers(
    lanes: Sequence[list[str] | None],
    devices: list[str],
    training_devices: str = "",
    *,
    training_kind: str = "train_model",
) -> list[Placement]:
    """Give each local worker (one lane each) its device. Without ``training_devices`` worker i
    gets device i mod n. With them, the j-th worker that trains gets training group j mod g (its
    rank 0 is its own device), and the workers that do not train are spread over the devices that
    no training group uses (over all of them only when every device is in a group; see
    :func:`shared_devices`)."""
    gpu = any(d.startswith("cuda") for d in devices) or not devices
    groups = training_device_groups(training_devices, gpu=gpu)
    out: list[Placement] = []
    used = {d for g in groups for d in g}
    pool = [d for d in devices if d not in used] or devices
    trainer_no = other_no = 0
    for slot, lane in enumerate(lanes):
        trains = lane is None or training_kind in lane
        generates = lane is None or any(k != training_kind for k in lane)
        if groups and trains:
            group = groups[trainer_no % len(groups)]
            trainer_no += 1
            out.append(Placement(group[0], ",".join(group), trains, generates))
        elif groups:
            device = pool[other_no % len(pool)] if pool else None
            other_no += 1
            out.append(Placement(device, None, trains, generates))
        else:
            out.append(Placement(device_for(slot, devices) if devices else None, None, trains, generates))
    return out


def shared_devices(placements: Sequence[Placement]) -> list[tuple[int, str, str]]:
    """(worker slot, device, "generation" or "training") for each worker that would hold a
    generation pipeline, or put a training rank, on a device where another worker's training run
    (or its own, past rank 0) puts a rank."""
    ranks_of = [
        (q.training_devices or "").split(",") if q.trains and q.training_devices else [] for q in placements
    ]
    out = []
    for slot, p in enumerate(placements):
        if p.generates and p.device not in (None, "cpu"):
            for other, ranks in enumerate(ranks_of):
                if p.device in (ranks[1:] if other == slot else ranks):  # a worker releases its own
                    out.append((slot, str(p.device), "generation"))  # pipeline before it trains
                    break
        earlier = {d for ranks in ranks_of[:slot] for d in ranks}
        for device in ranks_of[slot]:
            if device != "cpu" and device in earlier:
                out.append((slot, device, "training"))
    return out


def check_layout(settings: Settings, placements: Sequence[Placement]) -> list[str]:
    """Refuse (``ValueError``) a layout where a generation pipeline and a training rank, or two
    training ranks, share a GPU that FIBO's memory plan says cannot hold both
    (``TAILOR_GPU_MEMORY_GB``, else the GPU's memory); returns a line per device they share with
    the plan's blessing."""
    notes: list[str] = []
    shared = shared_devices(placements)
    if not shared:
        return notes
    from tailor.engine import memory
    from tailor.engine.pipeline import is_tiny

    if is_tiny(settings):
        return [
            f"worker {slot}'s {what} shares {device} with a training rank" for slot, device, what in shared
        ]
    params = memory.fibo_parameters()
    plans = {
        "generation": memory.generation_plan(params, adapters=settings.adapter_cache_size),
        "training": memory.training_plan(
            params, gradient_checkpointing=settings.training_gradient_checkpointing
        ),
    }
    train = plans["training"]
    for slot, device, what in shared:
        mine = plans[what]
        need = mine.total + train.total - train.overhead  # one CUDA context's overhead, roughly
        capacity = device_memory(settings, device)
        line = (
            f"worker {slot}'s {what} ({mine.total / memory.GiB:.1f} GiB) and a training rank "
            f"({train.total / memory.GiB:.1f} GiB at rank 128) share {device}"
        )
        if capacity is not None and need > capacity:
            raise ValueError(
                f"{line}, which has {capacity / memory.GiB:.1f} GiB: give the workers that generate devices "
                "outside TAILOR_TRAINING_DEVICES (TAILOR_DEVICES, TAILOR_WORKERS), one training group per "
                "worker that trains (groups separated by ';'), or dedicate workers to training "
                "(TAILOR_LONG_JOB_WORKERS, --kinds); see docs/gpu.md"
            )
        notes.append(line + (f" ({capacity / memory.GiB:.1f} GiB: the plan fits)" if capacity else ""))
    return notes


def device_memory(settings: Settings, device: str) -> int | None:
    """Bytes a device offers a plan: ``TAILOR_GPU_MEMORY_GB``, else the GPU's total (None: unknown)."""
    from tailor.engine import memory

    if settings.gpu_memory_gb:
        return int(settings.gpu_memory_gb * memory.GiB)
    if not device.startswith("cuda"):
        return None
    try:
        import torch

        if not torch.cuda.is_available():
            return None
        return int(torch.cuda.get_device_properties(torch.device(device)).total_memory)
    except Exception:
        return None


def parse_devices(text: str) -> list[str]:
    """``TAILOR_DEVICES`` ("cuda:0,cuda:1") as a list; empty when unset."""
    return [d.strip() for d in text.split(",") if d.strip()]


def device_for(slot: int, devices: list[str]) -> str:
    """The device of local worker ``slot``: worker i gets device i mod n."""
    return devices[slot % len(devices)]


class WorkerSupervisor:
    """Keeps ``count`` local worker processes running; restarts one that dies (with backoff).

    ``kinds`` (one entry per process, None: every kind) gives each process its lane; its length
    overrides ``count``. ``devices`` (e.g. ``cuda:0,cuda:1``) are handed out round robin, so each
    worker knows its GPU."""

    def __init__(
        self,
        count: int,
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        kinds: Sequence[list[str] | None] | None = None,
        devices: list[str] | None = None,
    ) -> None:
        if kinds is not None:
            count = len(kinds)
        self.count = count
        self.kinds: list[list[str] | None] = list(kinds) if kinds is not None else [None] * count
        self.env = dict(env if env is not None else os.environ)
        self.devices = devices or parse_devices(self.env.get("TAILOR_DEVICES", ""))
        self.placements = place_workers(self.kinds, self.devices, self.env.get(TRAINING_DEVICES_ENV, ""))
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
        lane = self.kinds[slot]
        if lane is not None:
            env[KINDS_ENV] = ",".join(lane)
        place = self.placements[slot]  # each worker knows its GPU (and its training ranks' GPUs)
        if place.device is not None:
            env["TAILOR_DEVICE"] = place.device
        if place.training_devices is not None:
            env[TRAINING_DEVICES_ENV] = place.training_devices
        # Own process group: a terminal's Ctrl-C reaches the supervisor only, which then stops the
        # workers with one SIGTERM (a second signal would make them drop their running job).
        proc = subprocess.Popen(
            [sys.executable, "-m", "tailor.worker.supervisor"], env=env, cwd=self.cwd, start_new_session=True
        )
        self.procs[slot] = proc
        self._started_at[slot] = time.monotonic()
        log.info(
            "started worker process %d (slot %d, kinds: %s)",
            proc.pid,
            slot,
            ",".join(lane) if lane else "all",
        )

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
    kinds = os.environ.get(KINDS_ENV)
    sys.exit(run_worker(kinds=[k for k in kinds.split(",") if k] if kinds else None))


if __name__ == "__main__":
    main()
