"""The Ray executor (``TAILOR_EXECUTOR=ray``): the database stays the queue and the system of record,
Ray runs the attempts.

A Tailor worker process claims jobs from the ``jobs`` table exactly as a local worker does (one
:class:`~tailor.worker.loop.Worker` loop per job in flight, each with its own heartbeat, lease and
cancel handling) and hands each claimed attempt to Ray:

- ``generate_image`` goes to the Ray Serve application ``tailor`` (:class:`Generation`): each replica
  keeps the base pipeline warm and loads tailored adapters through ``serve.multiplexed``, the
  adapter's identity (blob key and SHA-256) being the multiplexed model id, so Serve routes a
  request to a replica that already holds its adapter; each replica keeps at most
  ``ray_adapters_per_replica`` adapters (least recently used evicted).
- isolated kinds (training) run as one Ray task each, with ``ray_train_gpus`` GPUs; Ray reruns the
  task when its process or node dies and the run resumes from its latest checkpoint.
- every other kind (captions, bulk uploads, structured prompts, webhooks) runs as a CPU Ray task;
  the number of dispatch loops per group is the concurrency bound (``ray_vlm_concurrency`` protects
  the VLM provider).

On the Ray side an attempt runs the same code path as locally (:func:`tailor.worker.run.run_attempt`)
on a runtime built from the same settings, so progress, checkpoints, results and the lease checks go
through the same records. See docs/ray.md.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import ray
from ray import serve
from ray.exceptions import TaskCancelledError
from ray.serve.exceptions import RayServeException, RequestCancelledError

from tailor.bootstrap import Runtime, build_runtime
from tailor.config import Settings
from tailor.domain import jobs as kinds
from tailor.engine.adapters import cache_identity
from tailor.jobs.context import JobContext
from tailor.jobs.registry import Registry
from tailor.store.checkpoints import adapter_at
from tailor.store.models import get_model_by_id
from tailor.store.tables import Job
from tailor.worker.executor import Execution, Executor, Outcome
from tailor.worker.loop import Worker, new_worker_id
from tailor.worker.run import bind, run_attempt

log = logging.getLogger(__name__)

APP = "tailor"  # the Serve application
SERVED_KINDS = frozenset({kinds.GENERATE_IMAGE.name})
VLM_KINDS = frozenset(
    {
        kinds.CAPTION_IMAGE.name,
        kinds.BULK_UPLOAD.name,
        kinds.STRUCTURED_PROMPT.name,
        kinds.TAILORED_STRUCTURED_PROMPT.name,
    }
)
OTHER_LOOPS = 2  # dispatch loops for the remaining kinds (webhooks, extra kinds)


# --- the Ray side ----------------------------------------------------------------------------------


def job_info(job: Job) -> dict[str, Any]:
    """What an attempt needs of its claimed job row, as plain values."""
    return {
        "id": job.id,
        "kind": job.kind,
        "payload": dict(job.payload or {}),
        "organization_id": job.organization_id,
        "attempts": job.attempts,
        "claim_token": job.claim_token,
    }


def _job_row(info: dict[str, Any]) -> Job:
    return Job(
        id=info["id"],
        kind=info["kind"],
        organization_id=info["organization_id"],
        attempts=info["attempts"],
        payload=info["payload"],
        claim_token=info.get("claim_token"),
    )


_runtimes: dict[str, Runtime] = {}
_runtimes_lock = threading.Lock()


def process_runtime(values: dict[str, Any]) -> Runtime:
    """This Ray worker process's runtime for these settings, built once and then reused (Ray
    reuses worker processes, so the VLM bridge and database pool stay warm between tasks)."""
    key = json.dumps(values, sort_keys=True, default=str)
    with _runtimes_lock:
        rt = _runtimes.get(key)
        if rt is None:
            rt = _runtimes[key] = build_runtime(Settings(**values))
        return rt


def attempt(rt: Runtime, info: dict[str, Any], worker_id: str) -> Outcome:
    """One attempt of a claimed job, under the claim of ``worker_id`` (the dispatching loop)."""
    ctx = bind(rt.job_context(), rt.queue, _job_row(info), worker_id)
    return run_attempt(rt.registry, info["kind"], ctx, info["payload"])


def _where() -> dict[str, Any]:
    return {"pid": os.getpid(), "node": ray.get_runtime_context().get_node_id()}


@ray.remote
def tailor_job(
    values: dict[str, Any], info: dict[str, Any], worker_id: str
) -> tuple[Outcome, dict[str, Any]]:
    """A CPU task: captions, uploads, structured prompts, webhooks."""
    return attempt(process_runtime(values), info, worker_id), _where()


@ray.remote(max_calls=1)  # one process per run: its memory (and GPU) is freed when it ends
def tailor_training(
    values: dict[str, Any], info: dict[str, Any], worker_id: str
) -> tuple[Outcome, dict[str, Any]]:
    """An isolated kind (training): its own process, rerun by Ray when that process or its node
    dies; the rerun holds the same claim and resumes from the latest checkpoint."""
    rt = build_runtime(Settings(**values))
    try:
        return attempt(rt, info, worker_id), _where()
    finally:
        rt.close()


@serve.deployment(name="Generation")
class Generation:
    """A generation replica: the base pipeline loaded once, adapters multiplexed (LRU)."""

    def __init__(self, values: dict[str, Any]) -> None:
        settings = Settings(**values)
        # one LRU: the generator's adapter cache is as large as Serve's multiplexing bound
        settings = settings.model_copy(update={"adapter_cache_size": settings.ray_adapters_per_replica})
        self.rt = build_runtime(settings)
        self.generator = self.rt.resources.generator()  # warm before the first request
        self.replica = serve.get_replica_context().replica_id.unique_id
        self._adapters: dict[str, tuple[str, str | None]] = {}

        async def load_adapter(identity: str) -> str:
            key, sha256 = self._adapters[identity]
            await asyncio.to_thread(self._load, key, sha256)
            return identity

        self.adapter = serve.multiplexed(max_num_models_per_replica=settings.ray_adapters_per_replica)(
            load_adapter
        )

    def _load(self, key: str, sha256: str | None) -> None:
        with self.generator.lock:
            self.generator.adapters.activate(key, 1.0, sha256=sha256)

    async def run(
        self, info: dict[str, Any], worker_id: str, adapter: tuple[str, str | None] | None
    ) -> tuple[Outcome, dict[str, Any]]:
        loads = self.generator.adapters.loads
        identity = serve.get_multiplexed_model_id()
        if identity and adapter is not None:
            self._adapters[identity] = adapter
            await self.adapter(identity)
        outcome = await asyncio.to_thread(attempt, self.rt, info, worker_id)
        where = _where() | {
            "replica": self.replica,
            "adapter": identity or None,
            "adapter_loads": self.generator.adapters.loads - loads,
        }
        return outcome, where


def deploy_generation(settings: Settings) -> Any:
    """The handle of the Serve application, deployed (with this configuration) if not yet running."""
    try:
        return serve.get_app_handle(APP)
    except RayServeException:
        pass
    options: dict[str, Any] = {
        "ray_actor_options": {"num_cpus": settings.ray_replica_cpus, "num_gpus": settings.ray_replica_gpus},
        "max_ongoing_requests": 2,
    }
    if settings.ray_min_replicas == settings.ray_max_replicas:
        options["num_replicas"] = settings.ray_max_replicas
    else:
        options["autoscaling_config"] = {
            "min_replicas": settings.ray_min_replicas,
            "max_replicas": settings.ray_max_replicas,
            "target_ongoing_requests": 1,
        }
    app = Generation.options(**options).bind(settings.model_dump())  # type: ignore[attr-defined]
    serve.start(proxy_location="Disabled")  # Tailor's API is the only ingress
    return serve.run(app, name=APP, route_prefix=None)


def connect(settings: Settings) -> None:
    """Join the Ray cluster at ``ray_address`` (or start a local Ray) unless already connected."""
    if ray.is_initialized():
        return
    ray.init(
        address=settings.ray_address,
        namespace=settings.ray_namespace,
        include_dashboard=False,
        log_to_driver=False,
    )


# --- the dispatching side --------------------------------------------------------------------------


@dataclass
class Placement:
    """Where one attempt ran (for logs, tests and the benchmark)."""

    job_id: int
    kind: str
    where: dict[str, Any] = field(default_factory=dict)


class _RayExecution(Execution):
    def __init__(self, executor: RayExecutor, job: Job) -> None:
        self._executor = executor
        self._job_id = job.id
        self._kind = job.kind
        self._cancelled = False
        self._outcome: Outcome | None = None

    def _finish(self, fetch: Any) -> Outcome:
        try:
            outcome, where = fetch()
        except (TaskCancelledError, RequestCancelledError):
            outcome, where = Outcome.cancelled(), {}
        except Exception as e:  # the process, actor or node running the attempt died (RayError)
            outcome = (
                Outcome.cancelled() if self._cancelled else Outcome.crashed(f"ray: {type(e).__name__}: {e}")
            )
            where = {}
        self._executor.placed(Placement(self._job_id, self._kind, where))
        self._outcome = outcome
        return outcome


class Ended(Execution):
    """An attempt that ended before it reached Ray."""

    def __init__(self, outcome: Outcome) -> None:
        self._outcome = outcome

    def wait(self, timeout_s: float) -> Outcome | None:
        return self._outcome

    def cancel(self) -> None:
        """Nothing runs."""


class TaskExecution(_RayExecution):
    """An attempt running as a Ray task; cancel kills its process."""

    def __init__(self, executor: RayExecutor, job: Job, ref: Any) -> None:
        super().__init__(executor, job)
        self._ref = ref

    def wait(self, timeout_s: float) -> Outcome | None:
        if self._outcome is not None:
            return self._outcome
        ready, _ = ray.wait([self._ref], timeout=timeout_s)
        if not ready:
            return None
        return self._finish(lambda: ray.get(self._ref))

    def cancel(self) -> None:
        self._cancelled = True
        ray.cancel(self._ref, force=True)


class ServeExecution(_RayExecution):
    """An attempt running on a generation replica; cancel is cooperative first (``ctx.progress``)
    and then cancels the request."""

    def __init__(self, executor: RayExecutor, job: Job, response: Any) -> None:
        super().__init__(executor, job)
        self._response = response

    def wait(self, timeout_s: float) -> Outcome | None:
        if self._outcome is not None:
            return self._outcome
        try:
            value = self._response.result(timeout_s=timeout_s)
        except TimeoutError:
            return None
        except Exception as e:
            error = e

            def fail() -> Any:
                raise error

            return self._finish(fail)
        return self._finish(lambda: value)

    def cancel(self) -> None:
        self._cancelled = True
        self._response.cancel()


class RayExecutor(Executor):
    """Starts claimed attempts on Ray: generation on the Serve app, the rest as Ray tasks."""

    def __init__(self, settings: Settings, registry: Registry) -> None:
        self.settings = settings
        self.registry = registry
        self._lock = threading.Lock()
        self._handle: Any = None
        self.placements: deque[Placement] = deque(maxlen=10_000)
        connect(settings)

    def generation(self) -> Any:
        with self._lock:
            if self._handle is None:
                self._handle = deploy_generation(self.settings)
            return self._handle

    def placed(self, placement: Placement) -> None:
        self.placements.append(placement)
        log.info("job %s (%s) ran on %s", placement.job_id, placement.kind, placement.where or "-")

    def start(self, job: Job, ctx: JobContext, worker_id: str) -> Execution:
        try:
            return self._start(job, ctx, worker_id)
        except Exception as e:  # Ray unreachable, the Serve app failing to deploy...
            log.exception("job %s could not be handed to Ray", job.id)
            return Ended(Outcome.crashed(f"could not hand the job to Ray: {type(e).__name__}: {e}"))

    def _start(self, job: Job, ctx: JobContext, worker_id: str) -> Execution:
        info = job_info(job)
        name = f"tailor-{job.kind}-{job.id}"
        if job.kind in SERVED_KINDS:
            adapter = self._adapter_of(ctx, info)
            # without affinity the replica's handler loads the adapter itself, wherever it lands
            routed = adapter[0] if adapter is not None and self.settings.ray_adapter_affinity else ""
            handle = self.generation().options(multiplexed_model_id=routed)
            response = handle.run.remote(info, worker_id, adapter[1:] if adapter else None)
            return ServeExecution(self, job, response)
        if self.registry.kind(job.kind).isolated:
            ref = tailor_training.options(
                name=name,
                num_cpus=self.settings.ray_train_cpus,
                num_gpus=self.settings.ray_train_gpus,
                max_retries=self.settings.ray_train_max_retries,
                retry_exceptions=False,
            ).remote(self.settings.model_dump(), info, worker_id)
        else:
            ref = tailor_job.options(name=name, num_cpus=self.settings.ray_task_cpus, max_retries=0).remote(
                self.settings.model_dump(), info, worker_id
            )
        return TaskExecution(self, job, ref)

    @staticmethod
    def _adapter_of(ctx: JobContext, info: dict[str, Any]) -> tuple[str, str, str | None] | None:
        """(multiplexed id, blob key, sha256) of the adapter a generation serves, if any. A model
        that cannot be served yields None here; the handler fails the job with the usual error."""
        model_id = info["payload"].get("model_id")
        if not isinstance(model_id, int):
            return None
        with ctx.sessions() as s:
            model = get_model_by_id(s, model_id)
            if model is None or model.organization_id != info["organization_id"]:
                return None
            step = info["payload"].get("checkpoint_step")
            adapter = adapter_at(s, model, step if isinstance(step, int) else None)
        if adapter is None:
            return None
        return cache_identity(adapter.key, adapter.sha256), adapter.key, adapter.sha256

    def close(self) -> None:
        """Nothing to release per loop: the Ray connection and the Serve app outlive a worker loop."""


def dispatch_groups(
    settings: Settings, registry: Registry, only: Iterable[str] | None = None
) -> list[list[str]]:
    """The kinds of each dispatch loop: a group's loop count is its concurrency bound on Ray."""
    names = set(only) if only is not None else set(registry.names)
    isolated = {n for n in names if registry.kind(n).isolated}
    groups: list[tuple[set[str], int]] = [
        (names & SERVED_KINDS, settings.ray_generation_concurrency),
        (isolated, settings.ray_training_concurrency),
        (names & VLM_KINDS, settings.ray_vlm_concurrency),
        (names - SERVED_KINDS - isolated - VLM_KINDS, OTHER_LOOPS),
    ]
    loops: list[list[str]] = []
    for group, count in groups:
        if group:
            loops.extend([sorted(group)] * count)
    return loops


class RayWorkers:
    """A worker process's dispatch loops on one :class:`RayExecutor` (``tailor worker`` with
    ``TAILOR_EXECUTOR=ray``); stops like a :class:`Worker`."""

    def __init__(
        self,
        rt: Runtime,
        *,
        kinds: Iterable[str] | None = None,
        executor: RayExecutor | None = None,
        poll_interval_s: float | None = None,
    ) -> None:
        self.rt = rt
        self.executor = executor or RayExecutor(rt.settings, rt.registry)
        self.id = new_worker_id()
        self.loops = [
            Worker(
                rt,
                worker_id=f"{self.id}:{i}",
                kinds=group,
                executor=self.executor,
                poll_interval_s=poll_interval_s,
            )
            for i, group in enumerate(dispatch_groups(rt.settings, rt.registry, kinds))
        ]

    @property
    def stopping(self) -> bool:
        return all(w.stopping for w in self.loops)

    def stop(self, grace_s: float | None = None) -> None:
        for w in self.loops:
            w.stop(grace_s)

    def in_flight(self) -> Counter[str]:
        """Jobs running now, by kind group (each loop runs one at a time)."""
        counts: Counter[str] = Counter()
        for w in self.loops:
            if w._current is not None:
                counts[",".join(w.kinds)] += 1
        return counts

    def run(self) -> int:
        """Run every loop until stopped; returns how many jobs they ran."""
        threads = [
            threading.Thread(target=w.run, name=f"ray-dispatch-{w.id}", daemon=True) for w in self.loops
        ]
        for t in threads:
            t.start()
        log.info("Ray worker %s: %d dispatch loops", self.id, len(threads))
        try:
            while any(t.is_alive() for t in threads):
                for t in threads:
                    t.join(timeout=0.5)
        finally:
            self.stop(0)
        return sum(w.jobs_run for w in self.loops)
