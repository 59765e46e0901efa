"""Adapter affinity on Ray Serve: generation requests/s with multiplexed routing vs. random routing.

A local Ray (``--cpus``, default 2) runs Tailor's generation deployment with 2 replicas of the tiny
model, each keeping ``--per-replica`` adapters loaded (default 1). ``--adapters`` tailored models
(default 2) are served; rounds of ``--requests`` generate_image jobs alternate among them and go
through the real path (jobs table -> Ray dispatch loops -> Serve -> database). Each round runs with
``TAILOR_RAY_ADAPTER_AFFINITY`` on (multiplexing: a request goes to a replica that holds its
adapter) and off (Serve's default routing: any replica, which loads the adapter when it lacks it),
interleaved, in the same run on the same machine. Prints requests/s per mode, the adapter loads
the replicas did, and the affinity gain (multiplexed / random).

Usage: python benchmarks/ray.py [--requests 24] [--rounds 3] [--steps 20] [--adapters 2]
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

# this file is named ray.py: keep its folder off the path so that ``import ray`` finds Ray
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]

import ray  # noqa: E402
from ray import serve  # noqa: E402

from tailor.bootstrap import build_runtime  # noqa: E402
from tailor.config import Settings  # noqa: E402
from tailor.domain.jobs import GENERATE_IMAGE, GenerateImage  # noqa: E402
from tailor.jobs.queue import enqueue  # noqa: E402
from tailor.store import orgs  # noqa: E402
from tailor.store.db import session_scope  # noqa: E402
from tailor.store.models import add_model  # noqa: E402
from tailor.store.tables import Dataset, Job, Project  # noqa: E402
from tailor.worker.executor_ray import RayWorkers  # noqa: E402

SP = json.dumps(  # a complete structured prompt: no VLM call in the timed path
    {
        "short_description": "A red house by a lake at sunset.",
        "objects": [
            {
                "description": "a red house",
                "location": "center",
                "relationship": "the main subject",
                "relative_size": "large within frame",
            }
        ],
        "background_setting": "A calm lake with hills behind.",
        "lighting": {"conditions": "sunset", "direction": "from the left", "shadows": "long, soft"},
        "aesthetics": {"composition": "centered", "color_scheme": "warm", "mood_atmosphere": "calm"},
        "photographic_characteristics": {
            "depth_of_field": "deep",
            "focus": "sharp on the house",
            "camera_angle": "eye level",
            "lens_focal_length": "35mm",
        },
        "style_medium": "photograph",
        "context": "a postcard",
        "artistic_style": "realistic",
    }
)


def random_adapter_maker() -> object:
    """``benchmarks/generate.py``'s random LoRA maker (loaded by path, see the sys.path note)."""
    spec = importlib.util.spec_from_file_location("bench_generate", HERE / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.random_adapter


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=24, help="generate_image jobs per round")
    ap.add_argument("--rounds", type=int, default=3, help="timed rounds per mode (interleaved)")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--adapters", type=int, default=2)
    ap.add_argument("--per-replica", type=int, default=1, help="adapters a replica keeps loaded")
    ap.add_argument("--rank", type=int, default=16)
    ap.add_argument("--cpus", type=int, default=2)
    args = ap.parse_args()

    from diffusers import BriaFiboPipeline

    from tailor.engine.tiny import ensure_tiny_model

    tmp = Path(tempfile.mkdtemp(prefix="tailor-bench-ray-"))
    tiny = ensure_tiny_model(tmp / "models")
    settings = Settings(
        home=tmp / "home",  # type: ignore[arg-type]
        base_model=str(tiny),
        device="cpu",
        executor="ray",
        ray_min_replicas=2,
        ray_max_replicas=2,
        ray_replica_cpus=args.cpus / 2,
        ray_adapters_per_replica=args.per_replica,
        ray_generation_concurrency=2,
        worker_poll_interval_s=0.02,
    )
    rt = build_runtime(settings, migrate=True)

    random_adapter = random_adapter_maker()
    transformer = BriaFiboPipeline.from_pretrained(tiny).transformer
    with session_scope(rt.sessions) as s:
        org = orgs.get_or_create_org(s, "bench")
        project = Project(organization_id=org.id, project_name="p", ip_medium="illustration", ip_type="x")
        s.add(project)
        s.flush()
        dataset = Dataset(organization_id=org.id, project_id=project.id, name="d", status="completed")
        s.add(dataset)
        s.flush()
        model_ids = []
        for i in range(args.adapters):
            model = add_model(
                s,
                organization_id=org.id,
                project_id=project.id,
                dataset_id=dataset.id,
                name=f"m{i}",
                status="Completed",
                training_version="fibo",
            )
            s.flush()
            data = random_adapter(transformer, seed=i + 1, rank=args.rank)  # type: ignore[operator]
            key = f"{model.blob_prefix}adapter.safetensors"
            rt.blobs.put(key, data, "application/octet-stream")
            model.adapter_key, model.adapter_sha256 = key, hashlib.sha256(data).hexdigest()
            model_ids.append(model.id)
        org_id = org.id

    ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False, namespace="tailor-bench")
    workers = RayWorkers(rt, poll_interval_s=0.02)
    t = time.perf_counter()
    workers.executor.generation()
    print(f"Serve app with 2 replicas ready in {time.perf_counter() - t:.1f}s")
    thread = threading.Thread(target=workers.run, daemon=True)
    thread.start()

    def round_(affinity: bool, n: int) -> tuple[float, int]:
        rt.settings.ray_adapter_affinity = affinity
        seen = len(workers.executor.placements)
        started = time.perf_counter()
        with session_scope(rt.sessions) as s:
            ids = [
                enqueue(
                    s,
                    GENERATE_IMAGE,
                    GenerateImage(
                        seed=i,
                        structured_prompt=SP,
                        model_id=model_ids[i % len(model_ids)],
                        steps_num=args.steps,
                    ),
                    organization_id=org_id,
                ).id
                for i in range(n)
            ]
        while True:
            with rt.sessions() as s:
                states = [s.get(Job, i).state for i in ids]  # type: ignore[union-attr]
            if all(state in ("completed", "failed", "cancelled") for state in states):
                break
            time.sleep(0.02)
        elapsed = time.perf_counter() - started
        if any(state != "completed" for state in states):
            with rt.sessions() as s:
                raise SystemExit(f"a job did not complete: {s.get(Job, ids[states.index('failed')]).error}")
        loads = sum(p.where.get("adapter_loads", 0) for p in list(workers.executor.placements)[seen:])
        return n / elapsed, loads

    round_(True, 4)  # warm-up: both replicas used, adapters loaded once
    round_(False, 4)
    rates: dict[bool, list[float]] = {True: [], False: []}
    loads: dict[bool, list[int]] = {True: [], False: []}
    for _ in range(args.rounds):
        for affinity in (True, False):
            rate, n_loads = round_(affinity, args.requests)
            rates[affinity].append(rate)
            loads[affinity].append(n_loads)
            print(
                f"  {'multiplexed' if affinity else 'random     '}: {rate:6.2f} req/s, "
                f"{n_loads} adapter loads / {args.requests} requests"
            )
    mux, rnd = statistics.median(rates[True]), statistics.median(rates[False])
    print(
        f"tiny model, {args.steps} steps, 2 replicas, {args.adapters} adapters alternating, "
        f"{args.per_replica} kept per replica, {args.requests} requests x {args.rounds} rounds"
    )
    print(f"multiplexed: {mux:.2f} req/s (median), adapter loads per round {loads[True]}")
    print(f"random     : {rnd:.2f} req/s (median), adapter loads per round {loads[False]}")
    print(f"affinity gain: {mux / rnd:.2f}x")
    workers.stop(grace_s=5)
    thread.join(timeout=20)
    serve.shutdown()
    ray.shutdown()
    rt.close()


if __name__ == "__main__":
    main()
