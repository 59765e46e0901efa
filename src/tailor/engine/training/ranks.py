"""Data-parallel training: one run over several processes (ranks), one per device.

``TAILOR_TRAINING_DEVICES`` names the devices of a run. The training job's own process is rank 0:
it alone talks to the database and the blob store (progress, checkpoints, samples, the model's
status, the final adapter). It starts ranks 1..n-1 as child processes
(``python -m tailor.engine.training.ranks``) as soon as it has planned the run, so they load the
pipeline while rank 0 builds the training cache; once every rank is loaded and the cache is built,
rank 0 sends them the examples (paths into the cache it built: every rank reads the same latents
and text states) and the checkpoint to resume from, and the ranks join a ``torch.distributed``
group (NCCL on CUDA, gloo on CPU) through a TCP store that rank 0 opened on a free loopback port.
The trainer then splits each step's micro-batches over the group (``Trainer.train_step``).

Every helper rank is bound to rank 0 as a job's child is bound to its worker
(``jobs.lifeline``): the kernel's parent-death signal, and a lifeline pipe whose write end only rank
0 holds. Rank 0 closes the lifelines when the run ends for any reason (finished, stopped,
cancelled, failed), so no rank outlives it, and a monitor thread in rank 0 watches the helpers: a
helper that dies or fails (it reports its exception before exiting) ends the run with an error
naming the rank, its device and what happened, and the other helpers are stopped, which also
releases rank 0 from a collective that would otherwise wait for the dead rank.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from tailor.config import Settings, training_device_groups
from tailor.domain.jobs import PermanentJobError

log = logging.getLogger(__name__)

MODULE = "tailor.engine.training.ranks"
HOST = "127.0.0.1"
# a collective waits this long for a slow rank (rank 0 renders samples and scores checkpoints while
# the others wait); a dead rank is noticed by the monitor long before
GROUP_TIMEOUT = timedelta(minutes=60)
STOP_GRACE_S = 10.0
POLL_S = 0.1


def rank_devices(settings: Settings, device: str) -> list[str]:
    """The devices of one training run's ranks: the first group of ``TAILOR_TRAINING_DEVICES``
    (a count counts GPUs when ``device``, the worker's, is CUDA), else ``[device]``."""
    groups = training_device_groups(settings.training_devices, gpu=device.startswith("cuda"))
    return groups[0] if groups else [device]


def backend_for(devices: Sequence[str]) -> str:
    return "nccl" if all(d.startswith("cuda") for d in devices) else "gloo"


class RankFailed(RuntimeError):
    """A helper rank died or failed: the run cannot go on (retried like any crash)."""


def place_encoders(pipe: Any, examples: Sequence[Any], device: str) -> None:
    """After the cache is built, on CUDA: the VAE waits on the CPU, and so does the text encoder
    when every text state is cached (else it recomputes them on the device)."""
    if not device.startswith("cuda"):
        return
    import torch

    if all(e.text_path is not None for e in examples):
        pipe.text_encoder.to("cpu")
    pipe.vae.to("cpu")
    torch.cuda.empty_cache()


def init_group(backend: str, store: Any, rank: int, world: int, device: str) -> None:
    import torch
    import torch.distributed as dist

    if device.startswith("cuda"):
        torch.cuda.set_device(torch.device(device))
    dist.init_process_group(backend, store=store, rank=rank, world_size=world, timeout=GROUP_TIMEOUT)


def leave_group() -> None:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        try:
            dist.destroy_process_group()
        except Exception:  # a group whose peers died: nothing left to tear down cleanly
            log.warning("could not destroy the process group", exc_info=True)


def _exit_text(code: int | None) -> str:
    if code is None:
        return "still running"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


@dataclass
class _Helper:
    rank: int
    device: str
    proc: subprocess.Popen[bytes]
    channel: Connection  # messages both ways (see ``_helper_main``)
    lifeline: int  # write end: closing it makes the helper exit at once
    ready: bool = False
    done: bool = False
    error: tuple[bool, int, str] | None = None  # (permanent, code, message) it reported


@dataclass
class RankGroup:
    """Rank 0's side of a data-parallel run: starts, feeds, watches and stops ranks 1..n-1."""

    settings: Settings
    devices: list[str]
    family: str
    memory: dict[str, Any]  # the training plan's arguments (each rank checks its own device)
    tag: str = ""  # shown in the helpers' command line (which run they belong to)
    helpers: list[_Helper] = field(default_factory=list)
    failure: tuple[bool, int, str] | None = None
    _store: Any = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stopping: threading.Lock = field(default_factory=threading.Lock)
    _changed: threading.Condition = field(init=False)
    _monitor: threading.Thread | None = None
    _closing: bool = False
    _monitor_ended: bool = False
    _joined: bool = False

    def __post_init__(self) -> None:
        self._changed = threading.Condition(self._lock)

    @property
    def world(self) -> int:
        return len(self.devices)

    @property
    def backend(self) -> str:
        return backend_for(self.devices)

    # --- start -----------------------------------------------------------------------------------
    def spawn(self) -> None:
        """Open the rendezvous and start ranks 1..n-1 (they load the pipeline, then wait)."""
        import torch
        import torch.distributed as dist

        self._store = dist.TCPStore(
            HOST, 0, self.world, is_master=True, wait_for_workers=False, timeout=GROUP_TIMEOUT
        )
        threads = max(1, torch.get_num_threads() // self.world) if self.backend == "gloo" else 0
        for rank, device in enumerate(self.devices[1:], start=1):
            ours, theirs = socket.socketpair()
            life_r, life_w = os.pipe()
            spec = {
                "settings": self.settings.model_dump(mode="json"),
                "rank": rank,
                "world": self.world,
                "device": device,
                "backend": self.backend,
                "port": self._store.port,
                "family": self.family,
                "memory": self.memory,
                "threads": threads,
                "parent_pid": os.getpid(),
                "channel_fd": theirs.fileno(),
                "lifeline_fd": life_r,
            }
            proc = subprocess.Popen(
                [sys.executable, "-m", MODULE, f"--rank={rank}/{self.world}", f"--run={self.tag}"],
                stdin=subprocess.PIPE,
                pass_fds=(theirs.fileno(), life_r),
            )
            theirs.close()
            os.close(life_r)
            assert proc.stdin is not None
            proc.stdin.write(json.dumps(spec).encode())
            proc.stdin.close()
            self.helpers.append(_Helper(rank, device, proc, Connection(ours.detach()), life_w))
            log.info("training rank %d/%d started on %s (pid %d)", rank, self.world, device, proc.pid)
        self._monitor = threading.Thread(target=self._watch, name="training-ranks", daemon=True)
        self._monitor.start()

    def start(
        self,
        examples: Sequence[Any],
        config: Any,
        state_path: Path | None,
        device: str,
        *,
        waiting: Callable[[], None] = lambda: None,
    ) -> None:
        """Wait until every helper has loaded (calling ``waiting`` about once a second, which may
        raise to give up: a cancel), send them the run, and join the group as rank 0."""
        last = 0.0
        with self._changed:
            while not all(h.ready for h in self.helpers):
                self._raise_failure()
                self._changed.wait(POLL_S)
                if time.monotonic() - last >= 1.0:
                    self._changed.release()
                    try:
                        waiting()
                    finally:
                        self._changed.acquire()
                    last = time.monotonic()
        run = {
            "examples": [
                {
                    "latents_path": str(e.latents_path),
                    "text_path": str(e.text_path) if e.text_path is not None else None,
                    "caption": e.caption,
                    "width": e.width,
                    "height": e.height,
                }
                for e in examples
            ],
            "config": asdict(config),
            "state_path": str(state_path) if state_path is not None else None,
        }
        for h in self.helpers:
            h.channel.send(("start", run))
        init_group(self.backend, self._store, 0, self.world, device)
        self._joined = True

    # --- while it runs ---------------------------------------------------------------------------
    def _watch(self) -> None:
        try:
            self._watch_loop()
        finally:
            with self._changed:
                self._monitor_ended = True
                self._changed.notify_all()

    def _watch_loop(self) -> None:
        while True:
            with self._changed:
                if self._closing:
                    return
                for h in self.helpers:
                    code = h.proc.poll()  # first: an exited helper's last words are then all readable
                    self._read(h)
                    if code is not None and not (h.done and code == 0) and self.failure is None:
                        self.failure = h.error or (
                            False,
                            500,
                            f"training process {h.rank} of {self.world} ({h.device}) exited unexpectedly "
                            f"({_exit_text(code)})",
                        )
                        log.error("%s", self.failure[2])
                self._changed.notify_all()
                failed = self.failure is not None
            if failed:
                self._stop_helpers()  # the survivors would wait for the dead one forever
                self._abort_collectives()
                return
            time.sleep(POLL_S)

    def _read(self, h: _Helper) -> None:
        try:
            while h.channel.poll(0):
                msg = h.channel.recv()
                if msg[0] == "ready":
                    h.ready = True
                elif msg[0] == "done":
                    h.done = True
                elif msg[0] == "error":
                    h.error = (bool(msg[1]), int(msg[2]), f"training process {h.rank} ({h.device}): {msg[3]}")
        except (EOFError, OSError):
            pass

    def _abort_collectives(self) -> None:
        """Release rank 0 from a collective that waits for a dead rank: gloo raises by itself when
        a peer's connection closes; NCCL's communicator is aborted."""
        if not self._joined or self.backend != "nccl":
            return
        try:
            from torch.distributed import distributed_c10d

            distributed_c10d._abort_process_group()  # type: ignore[attr-defined]
        except Exception:
            log.warning("could not abort the NCCL process group", exc_info=True)

    def _raise_failure(self) -> None:
        if self.failure is None:
            return
        permanent, code, message = self.failure
        if permanent:
            raise PermanentJobError(message, code=code)
        raise RankFailed(message)

    def check(self) -> None:
        """Raise the failure of a helper rank, if one failed."""
        with self._lock:
            self._raise_failure()

    def failure_error(self, wait_s: float = 5.0) -> Exception | None:
        """The error of a failed helper, waiting up to ``wait_s`` for the monitor to see it (rank 0's
        collective may notice a dead peer first); None when every helper is fine."""
        with self._changed:
            self._changed.wait_for(lambda: self.failure is not None or self._monitor_ended, wait_s)
            try:
                self._raise_failure()
            except Exception as e:
                return e
        return None

    # --- end -------------------------------------------------------------------------------------
    def _stop_helpers(self, grace_s: float = 0.0) -> None:
        with self._stopping:
            for h in self.helpers:
                if h.lifeline >= 0:
                    os.close(h.lifeline)  # EOF: the helper's watchdog exits at once
                    h.lifeline = -1
        deadline = time.monotonic() + grace_s
        for h in self.helpers:
            try:
                h.proc.wait(timeout=max(deadline - time.monotonic(), 0.5))
            except subprocess.TimeoutExpired:
                h.proc.kill()
                h.proc.wait()

    def close(self, *, finished: bool = False) -> None:
        """End the run on every rank: with ``finished`` (rank 0 took its last step) the helpers
        get a grace period to finish theirs; otherwise they are stopped at once. Never leaves a
        helper running."""
        if finished:
            deadline = time.monotonic() + STOP_GRACE_S
            for h in self.helpers:
                try:
                    h.proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
                except subprocess.TimeoutExpired:
                    log.warning("training rank %d did not finish; stopping it", h.rank)
        with self._changed:
            self._closing = True
        if self._monitor is not None:
            self._monitor.join(timeout=5)
        self._stop_helpers()
        for h in self.helpers:
            h.channel.close()
        if self._joined:
            leave_group()
            self._joined = False
        self._store = None


# --- the helper rank's process ---------------------------------------------------------------------


def _describe(e: BaseException) -> tuple[bool, int, str]:
    """(permanent, code, message) of a helper's failure, by the rule rank 0 would apply."""
    from tailor.engine.pipeline import BaseModelUnavailable

    if isinstance(e, PermanentJobError):
        return True, e.code, e.message
    if isinstance(e, BaseModelUnavailable):
        return True, 507, str(e)
    return False, 500, f"{type(e).__name__}: {e}"


def _run_rank(spec: dict[str, Any], channel: Connection) -> bool:
    """Load, wait for the run, train in the group; False when told not to train after all."""
    import torch

    from tailor.engine.families import get_family
    from tailor.engine.pipeline import check_memory, is_tiny, load_pipeline
    from tailor.engine.training.data import Example
    from tailor.engine.training.trainer import TrainConfig, Trainer

    rank, world, device = spec["rank"], spec["world"], spec["device"]
    if spec["threads"]:
        torch.set_num_threads(spec["threads"])
    if device.startswith("cuda"):
        torch.cuda.set_device(torch.device(device))
    family = get_family(spec["family"])
    st = Settings(**spec["settings"]).model_copy(update={"cpu_offload": False, "device": device})
    if not is_tiny(st, family) and family.name == "fibo":  # each rank plans its own device
        check_memory(st, device, "training", **spec["memory"])
    pipe: Any = load_pipeline(st, family, plan=False)
    channel.send(("ready",))
    msg = channel.recv()
    if msg[0] != "start":
        return False
    run = msg[1]
    examples = [
        Example(
            Path(e["latents_path"]),
            Path(e["text_path"]) if e["text_path"] else None,
            e["caption"],
            e["width"],
            e["height"],
        )
        for e in run["examples"]
    ]
    place_encoders(pipe, examples, device)
    values = dict(run["config"])
    values["adam_betas"] = tuple(values["adam_betas"])
    config = TrainConfig(**values)
    import torch.distributed as dist

    store = dist.TCPStore(HOST, spec["port"], world, is_master=False, timeout=GROUP_TIMEOUT)
    init_group(spec["backend"], store, rank, world, device)
    try:
        trainer = Trainer(pipe, examples, config, device=device, family=family)
        if run["state_path"]:
            trainer.load_state(Path(run["state_path"]))
        trainer.run()
    finally:
        leave_group()
    return True


def _helper_main() -> None:
    from tailor.jobs.lifeline import bind_to_parent

    spec = json.loads(sys.stdin.buffer.read())
    bind_to_parent(spec["parent_pid"], Connection(spec["lifeline_fd"], writable=False))
    logging.basicConfig(
        level=Settings(**spec["settings"]).log_level.upper(),
        format=f"%(asctime)s %(levelname)s %(name)s[rank {spec['rank']}]: %(message)s",
    )
    channel = Connection(spec["channel_fd"])
    try:
        if _run_rank(spec, channel):
            channel.send(("done",))
    except BaseException as e:
        permanent, code, message = _describe(e)
        log.error("training rank %s failed: %s", spec["rank"], message, exc_info=True)
        try:
            channel.send(("error", permanent, code, message))
        except OSError:
            pass
        raise SystemExit(1) from None
    finally:
        channel.close()


if __name__ == "__main__":
    _helper_main()
