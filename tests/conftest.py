"""Shared fixtures: real databases (SQLite, PostgreSQL), real blob stores (disk, S3 on moto), the app.

- ``db_url`` is parametrised over SQLite and, when ``TAILOR_TEST_DATABASE_URL`` is set, PostgreSQL.
- ``s3_server`` runs moto in server mode on loopback for S3 contract tests.
- ``runtime``/``app``/``client`` give the real app over ``httpx.ASGITransport``; ``auth`` is a token header.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from tailor.bootstrap import Runtime, build_runtime  # noqa: E402
from tailor.config import Settings  # noqa: E402
from tailor.store import orgs  # noqa: E402
from tailor.store.db import session_scope  # noqa: E402

PG_URL = os.environ.get("TAILOR_TEST_DATABASE_URL")
# "gw0", "gw1", … in a pytest-xdist worker (the default run: see [tool.pytest.ini_options]); unset in
# a serial run (-n 0).
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER")
if XDIST_WORKER:
    # One torch thread per worker, in the worker and the processes its tests start (they inherit the
    # environment): with 2 workers on 2 cores, two threads each oversubscribe the CPUs. Measured on the
    # shared 2-core machine, 2 processes each running 6 tiny-model generations at once: 1.0 s with 1
    # thread, 10-34 s with 2.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)


def session_dir(base: Path) -> Path:
    """The folder that every worker of this test session shares, given a worker's base temp folder
    (``tmp_path_factory.getbasetemp()``): under pytest-xdist each worker has its own base temp inside
    the session's. Things built once per session (the tiny models, under a file lock) live there."""
    if XDIST_WORKER and base.name == f"popen-{XDIST_WORKER}":
        return base.parent
    return base


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny FIBO model, built once per test session (whichever worker needs it first)."""
    from tailor.engine.tiny import ensure_tiny_model

    return ensure_tiny_model(session_dir(tmp_path_factory.getbasetemp()) / "tiny-models")


def _pg_database(base_url: str) -> Iterator[str]:
    """Create a throwaway PostgreSQL database next to ``base_url``; drop it afterwards."""
    from sqlalchemy import create_engine, text

    from tailor.store.db import _normalise_url

    base = _normalise_url(base_url)
    name = f"tailor_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


DB_PARAMS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=DB_PARAMS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'tailor.db'}"
        return
    if not PG_URL:
        pytest.skip("set TAILOR_TEST_DATABASE_URL to run the PostgreSQL variant")
    yield from _pg_database(PG_URL)


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """moto's S3 in server mode on 127.0.0.1, for the whole test session."""
    from moto.server import ThreadedMotoServer

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


REPO = Path(__file__).resolve().parents[1]


def process_env(settings: Settings, **values: str) -> dict[str, str]:
    """The environment of a Tailor process (a worker, ``tailor serve``) that shares the test's
    database, blob store and secret; ``values`` add or override ``TAILOR_*`` variables."""
    env = dict(os.environ)
    env.update(
        {
            "TAILOR_HOME": str(settings.home),
            "TAILOR_DATABASE_URL": settings.resolved_database_url,
            "TAILOR_BLOB_URL": settings.resolved_blob_url,
            "TAILOR_SECRET_KEY": settings.resolved_secret_key(),
            "TAILOR_LOG_LEVEL": "WARNING",
            "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO), env.get("PYTHONPATH", "")]).rstrip(
                os.pathsep
            ),
        }
    )
    if settings.s3_endpoint_url:
        env["TAILOR_S3_ENDPOINT_URL"] = settings.s3_endpoint_url
    env.update(values)
    return env


def make_settings(home: Path, db_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "home": home,
        "database_url": db_url,
        "allow_private_urls": False,
        "workers": 0,
        "secret_key": "test-secret",
        # the in-process clients call the app as http://tailor.test (or http://t)
        "allowed_hosts": "tailor.test,t,localhost,127.0.0.1",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return make_settings(tmp_path / "home", db_url)


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    rt = build_runtime(settings, migrate=True)
    yield rt
    rt.close()


def new_token(rt: Runtime, org: str) -> str:
    with session_scope(rt.sessions) as s:
        return orgs.create_token(s, orgs.get_or_create_org(s, org), secret=rt.settings.resolved_secret_key())


@pytest.fixture
def token(runtime: Runtime) -> str:
    return new_token(runtime, "acme")


@pytest.fixture
def auth(token: str) -> dict[str, str]:
    return {"api_token": token}


@pytest.fixture
def app(runtime: Runtime, settings: Settings):  # type: ignore[no-untyped-def]
    from tailor.api.app import create_app

    return create_app(settings, runtime)


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://tailor.test") as c:
        yield c


@pytest.fixture
def worker(runtime: Runtime) -> Iterator[object]:
    """A real worker loop (in a thread) on the test's ``runtime``, running until the test ends."""
    import threading

    from tailor.worker.loop import Worker

    w = Worker(runtime, poll_interval_s=0.05)
    thread = threading.Thread(target=w.run, name="test-worker", daemon=True)
    thread.start()
    yield w
    w.stop(grace_s=5)
    thread.join(timeout=15)


@pytest.fixture
def live_server(app, worker) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The app served by uvicorn on 127.0.0.1 (random port) with a worker; yields its base URL."""
    import socket
    import threading
    import time

    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the live server did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=15)
    sock.close()


HEAVY_MARKERS = ("slow", "browser", "ray")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Modules with heavy tests run first (each module stays whole and in order): the two xdist
    workers then share out the long modules at the start instead of one of them ending on a long
    tail while the other waits."""
    heavy = {
        item.nodeid.split("::")[0] for item in items if any(item.get_closest_marker(m) for m in HEAVY_MARKERS)
    }
    items.sort(key=lambda item: item.nodeid.split("::")[0] not in heavy)
