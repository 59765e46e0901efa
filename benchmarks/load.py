"""API load: concurrent clients against a live `tailor serve` on 127.0.0.1, on SQLite and PostgreSQL.

Each client loops over a list endpoint (``GET /v1/tailored-gen/projects``) and a status endpoint
(``GET /v2/status/{id}``) of its tenant; the script prints req/s, p50 and p99 per endpoint.

    .venv/bin/python benchmarks/load.py [--clients 50] [--seconds 30] [--db sqlite|postgresql|both]
        [--pg postgresql://postgres@127.0.0.1:5432/test] [--tenants 5] [--slow-tenant]
        [--rate-limit-per-s 0] [--rate-limit-burst 0]

The server is ``tailor serve --workers 0`` in its own process with the real app and settings from
its environment (log level WARNING: no access log); the clients are asyncio tasks of this process,
so on a small machine they compete with the server for the CPU. The rate limit is off unless
``--rate-limit-per-s`` and ``--rate-limit-burst`` are given. ``--slow-tenant`` adds one more
tenant whose ``--slow-clients`` clients keep posting ``image_url`` uploads that point at a local
server which answers after ``--slow-delay`` seconds (``TAILOR_ALLOW_PRIVATE_URLS=true``), to see
what one slow tenant costs the others. PostgreSQL runs in a throwaway database created next to
``--pg`` (skipped when unreachable).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
LIST = "/v1/tailored-gen/projects"
STATUS = "/v2/status/{id}"
UPLOAD = "/v1/tailored-gen/datasets/{id}/images"


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


# --- data ---------------------------------------------------------------------------------------------


@dataclass
class Tenant:
    token: str
    request_ids: list[str]
    dataset_id: int = 0


def seed(home: Path, db_url: str, tenants: int, projects: int, requests: int, slow: bool) -> list[Tenant]:
    """Tenants with their projects and v2 requests (queued: no workers run), plus the slow tenant's
    basic dataset. Written through Tailor's own services and stores."""
    from tailor.bootstrap import build_runtime
    from tailor.config import Settings
    from tailor.domain.jobs import GENERATE_IMAGE, GenerateImage
    from tailor.services import datasets as dataset_service
    from tailor.services import projects as project_service
    from tailor.services.requests import create_request
    from tailor.store import orgs
    from tailor.store.db import session_scope

    rt = build_runtime(Settings(home=home, database_url=db_url, secret_key="bench"), migrate=True)
    out = []
    for t in range(tenants + (1 if slow else 0)):
        with session_scope(rt.sessions) as s:
            token = orgs.create_token(s, orgs.get_or_create_org(s, f"tenant-{t}"), secret="bench")
            principal = orgs.authenticate(s, token)
        assert principal is not None
        org_id = principal.organization_id
        project_id = 0
        for p in range(projects):
            values = {"project_name": f"project {p}", "ip_medium": "illustration", "ip_type": "other"}
            project_id = project_service.create_project(rt, org_id, values).id
        ids = []
        with session_scope(rt.sessions) as s:
            for _ in range(requests):
                req = create_request(
                    s,
                    principal,
                    endpoint="/v2/image/generate",
                    kind=GENERATE_IMAGE,
                    payload=GenerateImage(seed=1, prompt="load"),
                    webhook_url=None,
                    max_active=0,
                )
                ids.append(req.request_id)
        tenant = Tenant(token, ids)
        if slow and t == tenants:
            tenant.dataset_id = dataset_service.create_dataset(
                rt, org_id, project_id, "slow", "basic"
            ).dataset.id
        out.append(tenant)
    rt.close()
    return out


# --- the slow image host ----------------------------------------------------------------------------------


def jpeg_1024() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (1024, 1024), (180, 60, 60)).save(buf, "JPEG", quality=80)
    return buf.getvalue()


@contextmanager
def slow_image_server(delay_s: float) -> Iterator[str]:
    """An image host on 127.0.0.1 that answers every GET after ``delay_s`` seconds."""
    body = jpeg_1024()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            time.sleep(delay_s)
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


# --- the server -------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def tailor_serve(home: Path, db_url: str, args: argparse.Namespace) -> Iterator[str]:
    port = free_port()
    env = dict(os.environ)
    env.update(
        {
            "TAILOR_HOME": str(home),
            "TAILOR_DATABASE_URL": db_url,
            "TAILOR_SECRET_KEY": "bench",
            "TAILOR_LOG_LEVEL": "WARNING",
            "TAILOR_RATE_LIMIT_PER_S": str(args.rate_limit_per_s),
            "TAILOR_RATE_LIMIT_BURST": str(args.rate_limit_burst),
            "TAILOR_ALLOW_PRIVATE_URLS": "true" if args.slow_tenant else "false",
            "TAILOR_BASIC_DATASET_MAX_IMAGES": "1000000",
            "PYTHONPATH": str(REPO / "src"),
        }
    )
    tailor = "import sys; from tailor.cli.main import main; sys.argv[0] = 'tailor'; main()"
    cmd = [sys.executable, "-c", tailor, "serve", "--workers", "0", "--port", str(port)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"tailor serve did not start: {proc.stderr.read() if proc.stderr else ''}")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


# --- the load ---------------------------------------------------------------------------------------------


@dataclass
class Samples:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    # status code, or the name of the error when there was no answer
    statuses: dict[str, dict[int | str, int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int))
    )

    def add(self, name: str, started: float, status: int | str) -> None:
        self.latencies[name].append(time.perf_counter() - started)
        self.statuses[name][status] += 1


async def _get(client: httpx.AsyncClient, samples: Samples, name: str, path: str, token: str) -> None:
    started = time.perf_counter()
    try:
        r = await client.get(path, headers={"api_token": token})
        samples.add(name, started, r.status_code)
    except httpx.HTTPError as e:
        samples.add(name, started, type(e).__name__)


async def reader(
    client: httpx.AsyncClient, tenant: Tenant, samples: Samples, until: float, endpoint: str
) -> None:
    rnd = random.Random()
    while time.perf_counter() < until:
        if endpoint in ("both", "list"):
            await _get(client, samples, "list", LIST, tenant.token)
        if endpoint in ("both", "status"):
            rid = rnd.choice(tenant.request_ids)
            await _get(client, samples, "status", STATUS.format(id=rid), tenant.token)


async def slow_uploader(
    client: httpx.AsyncClient, tenant: Tenant, image_url: str, samples: Samples, until: float
) -> None:
    n = 0
    while time.perf_counter() < until:
        n += 1
        started = time.perf_counter()
        try:
            r = await client.post(
                UPLOAD.format(id=tenant.dataset_id),
                headers={"api_token": tenant.token},
                json={"image_url": f"{image_url}/img-{uuid.uuid4().hex}.jpg"},
            )
            samples.add("slow upload", started, r.status_code)
        except httpx.HTTPError as e:
            samples.add("slow upload", started, type(e).__name__)


async def run_load(
    url: str, tenants: list[Tenant], args: argparse.Namespace, image_url: str | None
) -> Samples:
    samples = Samples()
    readers = tenants[: args.tenants]
    limits = httpx.Limits(
        max_connections=args.clients + args.slow_clients + 10, max_keepalive_connections=None
    )
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
        for t in readers:  # warm up, not measured
            await _get(client, Samples(), "list", LIST, t.token)
        until = time.perf_counter() + args.seconds
        tasks = [
            reader(client, readers[i % len(readers)], samples, until, args.endpoint)
            for i in range(args.clients)
        ]
        if image_url is not None:
            slow = tenants[args.tenants]
            tasks += [
                slow_uploader(client, slow, image_url, samples, until) for _ in range(args.slow_clients)
            ]
        await asyncio.gather(*tasks)
    return samples


def pct(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def report(label: str, samples: Samples, args: argparse.Namespace) -> None:
    elapsed = args.seconds  # every request counted was sent within this window
    limit = (
        f"rate limit {args.rate_limit_per_s}/s burst {args.rate_limit_burst}"
        if args.rate_limit_per_s and args.rate_limit_burst
        else "rate limit off"
    )
    slow = (
        f", slow tenant: {args.slow_clients} clients, {args.slow_delay:g} s image host"
        if args.slow_tenant
        else ""
    )
    print(
        f"{label}: {args.clients} clients x {elapsed:g} s ({args.endpoint}), {args.tenants} tenants, "
        f"{limit}{slow}"
    )
    for name, path in (("list", LIST), ("status", STATUS), ("slow upload", UPLOAD)):
        lat = sorted(samples.latencies.get(name, []))
        if not lat:
            continue
        codes = ", ".join(f"{code}: {n}" for code, n in sorted(samples.statuses[name].items(), key=str))
        print(
            f"  {name:11s} {path:40s} {len(lat) / elapsed:7.1f} req/s  "
            f"p50 {statistics.median(lat) * 1000:7.1f} ms  p99 {pct(lat, 0.99) * 1000:7.1f} ms  [{codes}]"
        )


def run_backend(label: str, db_url: str, args: argparse.Namespace) -> None:
    home = Path(tempfile.mkdtemp(prefix="tailor-load-"))
    tenants = seed(home, db_url, args.tenants, args.projects, args.requests, args.slow_tenant)
    with tailor_serve(home, db_url, args) as url:
        if args.slow_tenant:
            with slow_image_server(args.slow_delay) as image_url:
                samples = asyncio.run(run_load(url, tenants, args, image_url))
        else:
            samples = asyncio.run(run_load(url, tenants, args, None))
    report(label, samples, args)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    ap.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    ap.add_argument(
        "--endpoint", choices=["both", "list", "status"], default="both", help="what the clients request"
    )
    ap.add_argument("--tenants", type=int, default=5, help="organizations the clients are spread over")
    ap.add_argument("--projects", type=int, default=20, help="projects per tenant (the list's length)")
    ap.add_argument("--requests", type=int, default=50, help="v2 requests per tenant (status targets)")
    ap.add_argument("--slow-tenant", action="store_true", help="add a tenant uploading from a slow host")
    ap.add_argument("--slow-clients", type=int, default=10)
    ap.add_argument("--slow-delay", type=float, default=5.0, help="seconds the image host takes")
    ap.add_argument("--rate-limit-per-s", type=float, default=0.0, help="TAILOR_RATE_LIMIT_PER_S (0: off)")
    ap.add_argument("--rate-limit-burst", type=int, default=0, help="TAILOR_RATE_LIMIT_BURST (0: off)")
    args = ap.parse_args()
    if not args.slow_tenant:
        args.slow_clients = 0
    if args.db in ("sqlite", "both"):
        tmp = Path(tempfile.mkdtemp(prefix="tailor-load-db-"))
        run_backend("sqlite", f"sqlite:///{tmp / 'load.db'}", args)
    if args.db in ("postgresql", "both"):
        try:
            with pg_database(args.pg) as url:
                run_backend("postgresql", url, args)
        except Exception as e:  # no server here
            print(f"postgresql: skipped ({type(e).__name__}: {e})")


if __name__ == "__main__":
    main()
