"""TAILOR_EXECUTOR=ray on a local Ray (2 CPUs) and the tiny model: generation on Ray Serve with
multiplexed adapters, training as a Ray task that survives its process, captions fanned out, and the
v2 protocol through bria-client. One Ray, one Serve app and one database for the whole module."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

ray = pytest.importorskip("ray")

from ray import serve  # noqa: E402

from tailor.bootstrap import Runtime, build_runtime  # noqa: E402
from tailor.config import Settings  # noqa: E402
from tailor.domain.jobs import CAPTION_IMAGE, GENERATE_IMAGE, CaptionImage, GenerateImage  # noqa: E402
from tailor.jobs.queue import enqueue  # noqa: E402
from tailor.store import checkpoints as ckpt_store  # noqa: E402
from tailor.store.db import session_scope  # noqa: E402
from tailor.store.tables import Image, Job, TailoredModel  # noqa: E402
from tailor.worker.executor_ray import RayWorkers, dispatch_groups  # noqa: E402
from tailor.worker.run import run_pending  # noqa: E402
from tests.conftest import make_settings, new_token  # noqa: E402
from tests.engine.api_helpers import SP, adapter_bytes, add_model, fetch_image, tiny_dir_for, wait_done  # noqa: E402
from tests.engine.training.helpers import seed_dataset  # noqa: E402
from tests.engine.training.test_training_job import start_model  # noqa: E402

pytestmark = pytest.mark.ray

MODELS = "/v1/tailored-gen/models"


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    home = tmp_path_factory.mktemp("ray") / "home"
    return make_settings(
        home,
        f"sqlite:///{home.parent / 'tailor.db'}",
        base_model=str(tiny_dir_for(tmp_path_factory.getbasetemp())),
        device="cpu",
        executor="ray",
        ray_min_replicas=2,
        ray_max_replicas=2,
        ray_replica_cpus=0.25,
        ray_task_cpus=0.25,
        ray_train_cpus=0.25,
        ray_adapters_per_replica=2,
        ray_generation_concurrency=2,
        ray_training_concurrency=1,
        ray_vlm_concurrency=2,
        heartbeat_interval_s=0.2,
        job_cancel_grace_s=0.5,
        job_retry_backoff_s=0.0,
        training_max_steps=40,
        training_checkpoint_interval=10,
        training_grad_accumulation=1,
        training_gradient_checkpointing=False,
        training_sample_steps=1,
    )


@pytest.fixture(scope="module")
def runtime(settings: Settings) -> Iterator[Runtime]:
    rt = build_runtime(settings, migrate=True)
    yield rt
    rt.close()


@pytest.fixture(scope="module")
def token(runtime: Runtime) -> str:
    return new_token(runtime, "acme")


@pytest.fixture(scope="module")
def models(runtime: Runtime, token: str, settings: Settings) -> dict[str, int]:
    tiny = Path(settings.base_model)
    return {name: add_model(runtime, token, adapter_bytes(tiny, seed)) for name, seed in (("a", 1), ("b", 2))}


def tailored(model_id: int, **kw: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"tailored_model_id": str(model_id), "structured_prompt": SP, "seed": 11}
    body.update({"steps_num": 20} | kw)
    return body


@pytest.fixture(scope="module")
def local_images(runtime: Runtime, token: str, models: dict[str, int]) -> dict[str, bytes]:
    """The reference: each adapter's image as the local executor renders it (same code path, in
    this process), before any Ray worker exists."""
    import asyncio

    from tailor.api.app import create_app

    async def render() -> dict[str, bytes]:
        app = create_app(runtime.settings, runtime)
        images: dict[str, bytes] = {}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://tailor.test") as c:
            for name, mid in models.items():
                auth = {"api_token": token}
                r = await c.post("/v2/image/generate/tailored", json=tailored(mid), headers=auth)
                assert r.status_code == 202, r.text
                run_pending(runtime.queue, runtime.job_context())
                done = await wait_done(c, auth, r.json()["request_id"])
                assert done["status"] == "COMPLETED", done
                images[name] = await fetch_image(c, done["result"]["image_url"])
        return images

    return asyncio.run(render())


@pytest.fixture(scope="module")
def ray_workers(runtime: Runtime, local_images: dict[str, bytes]) -> Iterator[RayWorkers]:
    """A local Ray with 2 CPUs, the Serve app deployed (2 replicas), and the dispatch loops running."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, namespace="tailor-test")
    try:
        workers = RayWorkers(runtime, poll_interval_s=0.05)
        workers.executor.generation()  # deploy and warm both replicas
        thread = threading.Thread(target=workers.run, daemon=True)
        thread.start()
        yield workers
        workers.stop(grace_s=5)
        thread.join(timeout=20)
    finally:
        serve.shutdown()
        ray.shutdown()


@pytest.fixture
def worker(ray_workers: RayWorkers) -> RayWorkers:
    """conftest's ``live_server`` serves the app with this module's Ray workers."""
    return ray_workers


@pytest.fixture
def auth(token: str) -> dict[str, str]:
    return {"api_token": token}


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def _descends_from_this_process(pid: int) -> bool:
    """Whether ``pid`` was started (through any chain of children) by this test process: the Ray
    started by this module, not another test run's Ray on the same machine."""
    me = os.getpid()
    for _ in range(16):
        pid = _parent(pid)
        if pid == me:
            return True
        if pid <= 1:
            return False
    return False


def ray_pids(title: str) -> list[int]:
    """Pids of this module's Ray worker processes whose title contains ``title``."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if cmdline.startswith("ray::") and title in cmdline and _descends_from_this_process(int(entry)):
            pids.append(int(entry))
    return pids


def busiest(pids: list[int]) -> int:
    """The process that used the most CPU over the next 0.1 seconds."""

    def cpu(pid: int) -> int:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime

    before = {pid: cpu(pid) for pid in pids}
    time.sleep(0.1)
    return max(pids, key=lambda pid: cpu(pid) - before[pid])


async def finished(client: httpx.AsyncClient, auth: dict[str, str], request_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        body: dict[str, Any] = (await client.get(f"/v2/status/{request_id}", headers=auth)).json()
        if body["status"] != "IN_PROGRESS":
            return body
        await asyncio.sleep(0.1)
    raise AssertionError("the request did not finish")


async def wait_for(predicate: Any, timeout_s: float = 90.0, every_s: float = 0.02) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(every_s)
    raise AssertionError("timed out waiting")


def generations(workers: RayWorkers) -> list[dict[str, Any]]:
    return [p.where for p in workers.executor.placements if p.kind == "generate_image"]


async def test_two_adapters_match_local_and_stay_on_their_replicas(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    models: dict[str, int],
    local_images: dict[str, bytes],
    ray_workers: RayWorkers,
) -> None:
    for name in ("a", "b", "a", "b", "a"):
        r = await client.post("/v2/image/generate/tailored", json=tailored(models[name]), headers=auth)
        assert r.status_code == 202, r.text
        done = await wait_done(client, auth, r.json()["request_id"])
        assert done["status"] == "COMPLETED", done
        assert await fetch_image(client, done["result"]["image_url"]) == local_images[name]
    a1, b1, a2, b2, a3 = generations(ray_workers)[-5:]
    assert a1["pid"] != os.getpid() and a1["adapter"] != b1["adapter"]
    assert a1["adapter_loads"] == 1 and b1["adapter_loads"] == 1
    # the same adapter again: the replica that holds it, nothing loaded
    assert (a2["replica"], a2["adapter_loads"]) == (a1["replica"], 0)
    assert (b2["replica"], b2["adapter_loads"]) == (b1["replica"], 0)
    assert (a3["replica"], a3["adapter_loads"]) == (a1["replica"], 0)


async def test_a_replica_killed_mid_generation_still_completes(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    models: dict[str, int],
    runtime: Runtime,
    ray_workers: RayWorkers,
) -> None:
    r = await client.post(
        "/v2/image/generate/tailored", json=tailored(models["a"], steps_num=50), headers=auth
    )
    assert r.status_code == 202, r.text
    request_id = r.json()["request_id"]

    async def generating() -> bool:
        with session_scope(runtime.sessions) as s:
            job = s.query(Job).filter(Job.kind == "generate_image").order_by(Job.id.desc()).first()
            return job is not None and (job.progress or {}).get("step", 0) >= 1

    await wait_for(generating)
    replicas = ray_pids("ServeReplica:tailor:Generation")
    assert len(replicas) == 2
    os.kill(busiest(replicas), signal.SIGKILL)  # the replica running the request
    done = await finished(client, auth, request_id)
    assert done["status"] == "COMPLETED", done
    with session_scope(runtime.sessions) as s:
        job = s.query(Job).filter(Job.kind == "generate_image").order_by(Job.id.desc()).first()
        assert job.state == "completed" and job.attempts == 2  # the lost attempt, then a new one


async def test_training_resumes_after_its_ray_worker_is_killed_and_a_queued_one_is_cancelled(
    client: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime, token: str, ray_workers: RayWorkers
) -> None:
    seeded = seed_dataset(runtime, token, n=4)
    mid = await start_model(client, auth, seeded.dataset_id, rank=4)
    queued = await start_model(client, auth, seeded.dataset_id, rank=4)  # training concurrency is 1

    async def first_checkpoint() -> bool:
        with session_scope(runtime.sessions) as s:
            return bool(ckpt_store.checkpoint_steps(s, mid))

    await wait_for(first_checkpoint)
    trainers = ray_pids("tailor-train_model-")
    assert len(trainers) == 1, "the training finished before it could be killed"
    os.kill(trainers[0], signal.SIGKILL)

    r = await client.post(f"{MODELS}/{queued}/stop_training", headers=auth)
    assert r.status_code == 200, r.text
    with session_scope(runtime.sessions) as s:
        job = s.get(Job, s.get(TailoredModel, queued).job_id)
        assert (job.state, job.attempts) == ("cancelled", 0)  # never handed to Ray
    assert (await client.get(f"{MODELS}/{queued}", headers=auth)).json()["status"] == "Stopped"

    async def completed() -> bool:
        body = (await client.get(f"{MODELS}/{mid}", headers=auth)).json()
        assert body["status"] in ("InProgress", "Completed"), body
        with session_scope(runtime.sessions) as s:
            job_state = s.get(Job, s.get(TailoredModel, mid).job_id).state
        return bool(body["status"] == "Completed" and job_state == "completed")

    await wait_for(completed)
    with session_scope(runtime.sessions) as s:
        job = s.get(Job, s.get(TailoredModel, mid).job_id)
        # Ray reran the task under the same claim: one attempt in the database, resumed
        assert (job.state, job.attempts) == ("completed", 1)
        assert ckpt_store.checkpoint_steps(s, mid) == [40, 30, 20, 10]
    assert ray_pids("tailor-train_model-") == []


async def test_cancel_a_running_generation(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    models: dict[str, int],
    runtime: Runtime,
    ray_workers: RayWorkers,
) -> None:
    with session_scope(runtime.sessions) as s:
        org_id = s.get(TailoredModel, models["b"]).organization_id
        job_id = enqueue(
            s,
            GENERATE_IMAGE,
            GenerateImage(seed=3, structured_prompt=SP, model_id=models["b"], steps_num=2000),
            organization_id=org_id,
        ).id

    async def state(*states: str) -> bool:
        with session_scope(runtime.sessions) as s:
            job = s.get(Job, job_id)
            return job.state in states and (job.progress or {}).get("step", 0) >= 1

    await wait_for(lambda: state("running"))
    assert runtime.queue.cancel(job_id) == "running"
    await wait_for(lambda: state("cancelled"), timeout_s=30)
    placed = [p for p in ray_workers.executor.placements if p.job_id == job_id]
    assert len(placed) == 1


async def test_captions_fan_out_within_the_bound(
    runtime: Runtime, token: str, ray_workers: RayWorkers
) -> None:
    seeded = seed_dataset(runtime, token, n=6, captioned=False, status="processing")
    with session_scope(runtime.sessions) as s:
        jobs = [
            enqueue(
                s, CAPTION_IMAGE, CaptionImage(image.id, seeded.dataset_id), organization_id=seeded.org_id
            )
            for image in s.query(Image).filter(Image.dataset_id == seeded.dataset_id)
        ]
        job_ids = [job.id for job in jobs]
    bound = runtime.settings.ray_vlm_concurrency
    assert sum("caption_image" in g for g in dispatch_groups(runtime.settings, runtime.registry)) == bound
    peak = 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        peak = max(peak, sum(n for g, n in ray_workers.in_flight().items() if "caption_image" in g))
        with session_scope(runtime.sessions) as s:
            pending = s.query(Job).filter(Job.id.in_(job_ids), Job.state != "completed").count()
        if pending == 0:
            break
        await asyncio.sleep(0.01)
    assert pending == 0
    assert 1 <= peak <= bound
    with session_scope(runtime.sessions) as s:
        assert (
            s.query(Image).filter(Image.dataset_id == seeded.dataset_id, Image.caption.is_(None)).count() == 0
        )
    captions = [p for p in ray_workers.executor.placements if p.job_id in job_ids]
    assert len(captions) == 6 and all(p.where["pid"] != os.getpid() for p in captions)


def test_bria_client_against_ray(live_server: str, token: str, models: dict[str, int]) -> None:
    from bria_client import BriaSyncClient

    with BriaSyncClient(base_url=live_server, api_token=token) as bria:
        res = bria.run(
            "image/generate/tailored",
            {
                "tailored_model_id": str(models["b"]),
                "prompt": "a lighthouse at dawn",
                "seed": 11,
                "steps_num": 20,
            },
        )
        assert res.status == "COMPLETED", res
        image = httpx.get(res.result.image_url, timeout=30)
        assert image.status_code == 200 and image.content.startswith(b"\x89PNG")
        missing = bria.run("image/generate/tailored", {"tailored_model_id": "999999", "prompt": "x"})
        assert missing.status == "ERROR" and missing.error.code == 404
