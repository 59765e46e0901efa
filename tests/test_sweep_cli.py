"""``tailor sweep`` and the periodic sweep of ``tailor serve``, as real processes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tailor.api.app import create_app
from tailor.bootstrap import Runtime, build_runtime
from tailor.config import Settings
from tests.conftest import new_token
from tests.services.factory import image_bytes
from tests.services.v1_support import make_dataset, upload

TAILOR = str(Path(sys.executable).parent / "tailor")
REPO = Path(__file__).resolve().parents[1]


def env_for(home: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "TAILOR_HOME": str(home), "TAILOR_LOG_LEVEL": "WARNING", **extra}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.pop("TAILOR_DATABASE_URL", None)
    env.pop("TAILOR_BLOB_URL", None)
    return env


async def _home_with_an_image_and_a_leftover(home: Path) -> tuple[Runtime, str, str]:
    """A home (SQLite, disk store) with one uploaded image and one blob no record names."""
    rt = build_runtime(Settings(home=home, allowed_hosts="t"), migrate=True)
    token = new_token(rt, "acme")
    auth = {"api_token": token}
    app = create_app(rt.settings, rt)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        d = await make_dataset(client, auth)
        assert (await upload(client, auth, d["id"], image_bytes())).status_code == 201
    (image_key, *_) = sorted(rt.blobs.list("images/"))
    leftover = image_key.rsplit("/", 1)[0] + f"/{uuid.uuid4().hex}.png"
    rt.blobs.put(leftover, b"stranded by a killed worker")
    return rt, image_key, leftover


@pytest.mark.slow
async def test_sweep_command(tmp_path: Path) -> None:
    home = tmp_path / "home"
    rt, image_key, leftover = await _home_with_an_image_and_a_leftover(home)
    try:
        time.sleep(0.05)
        run = lambda *args: subprocess.run(  # noqa: E731
            [TAILOR, "sweep", *args], env=env_for(home), capture_output=True, text=True, timeout=120
        )
        r = run()  # the default grace period (an hour): nothing is old enough
        assert r.returncode == 0, r.stderr
        assert "total            removed 0 (0 B)" in r.stdout and rt.blobs.exists(leftover)
        r = run("--grace-s", "0", "--dry-run")
        assert r.returncode == 0, r.stderr
        assert "images           would remove 1 (27 B)" in r.stdout and rt.blobs.exists(leftover)
        r = run("--grace-s", "0")
        assert r.returncode == 0, r.stderr
        assert "images           removed 1 (27 B)" in r.stdout
        assert not rt.blobs.exists(leftover) and rt.blobs.exists(image_key)
        r = run("--grace-s", "-1")
        assert r.returncode != 0 and "grace" in (r.stdout + r.stderr)
    finally:
        rt.close()


async def test_serve_sweeps_periodically(tmp_path: Path) -> None:
    home = tmp_path / "home"
    rt, image_key, leftover = await _home_with_an_image_and_a_leftover(home)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = env_for(
        home,
        TAILOR_WORKERS="0",
        TAILOR_PORT=str(port),
        TAILOR_SWEEP_INTERVAL_S="0.3",
        TAILOR_SWEEP_GRACE_S="0",
    )
    server = subprocess.Popen([TAILOR, "serve"], env=env, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while rt.blobs.exists(leftover):
            assert time.monotonic() < deadline, "the leftover was never swept"
            assert server.poll() is None
            time.sleep(0.1)
        assert rt.blobs.exists(image_key)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        rt.close()
