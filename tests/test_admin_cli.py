"""Admin commands through the real entry point: db upgrade, token create, first-start token."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx

from tailor.api.app import create_app
from tailor.bootstrap import build_runtime, ensure_default_token
from tailor.config import Settings


def run_cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TAILOR_HOME": str(home)}
    env.pop("TAILOR_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "tailor.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_db_upgrade_and_token_create(tmp_path: Path) -> None:
    home = tmp_path / "home"
    r = run_cli(home, "db", "upgrade")
    assert r.returncode == 0, r.stderr
    assert (home / "tailor.db").exists()
    r = run_cli(home, "token", "create", "--org", "acme")
    assert r.returncode == 0, r.stderr
    token = r.stdout.strip().splitlines()[-1]
    assert token.startswith("tlr_") and len(token) > 30
    # the token works against an app on the same home, and is stored only as a hash
    settings = Settings(home=home)
    rt = build_runtime(settings)
    with rt.engine.connect() as conn:
        stored = [row[0] for row in conn.exec_driver_sql("SELECT token_hash FROM api_tokens")]
    assert token not in stored and len(stored) == 1
    rt.close()


def test_token_create_requires_org(tmp_path: Path) -> None:
    r = run_cli(tmp_path / "home", "token", "create")
    assert r.returncode != 0
    assert "--org" in (r.stdout + r.stderr)


async def test_first_start_creates_default_token_once(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    rt = build_runtime(settings, migrate=True)
    token = ensure_default_token(rt)
    assert token is not None
    assert settings.token_file.read_text().strip() == token
    assert oct(settings.token_file.stat().st_mode & 0o777) == "0o600"
    assert ensure_default_token(rt) is None  # not on later starts
    app = create_app(settings, rt)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        assert (await c.get("/health")).status_code == 200
    rt.close()


def _serve_banner(home: Path) -> str:
    """Start ``tailor serve`` (no workers) on a free port, return what it printed before serving, stop it."""
    import signal
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "TAILOR_HOME": str(home), "TAILOR_WORKERS": "0", "TAILOR_PORT": str(port)}
    env.pop("TAILOR_DATABASE_URL", None)
    env.pop("TAILOR_SECRET_KEY", None)
    proc = subprocess.Popen(
        [sys.executable, "-c", "from tailor.cli.main import main; main()", "serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        umask=0o022,  # a careless shell's
    )
    lines = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if "Local workers" in line:
                break
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    return "".join(lines)


def test_serve_shows_the_token_only_when_it_creates_it(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = _serve_banner(home)
    token = (home / "token").read_text().strip()
    assert token.startswith("tlr_") and f"API token:       {token}" in first
    # what serve created is private, whatever the umask of the shell that started it
    assert oct(home.stat().st_mode & 0o777) == "0o700"
    for name in ("tailor.db", "token", "secret"):
        assert oct((home / name).stat().st_mode & 0o777) == "0o600", name
    second = _serve_banner(home)
    assert token not in second
    assert f"API token:       in {home / 'token'}" in second


async def test_token_list_revoke_and_rotate(tmp_path: Path) -> None:
    home = tmp_path / "home"
    ci = run_cli(home, "token", "create", "--org", "acme", "--name", "ci").stdout.strip().splitlines()[-1]
    web = run_cli(home, "token", "create", "--org", "globex", "--name", "web").stdout.strip().splitlines()[-1]
    settings = Settings(home=home, allowed_hosts="t")
    rt = build_runtime(settings)
    app = create_app(settings, rt)  # serving before, during and after the changes below
    projects = "/v1/tailored-gen/projects"
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:

            async def status(token: str) -> int:
                return (await c.get(projects, headers={"api_token": token})).status_code

            r = await c.post(
                projects,
                headers={"api_token": web},
                json={"project_name": "P", "ip_medium": "illustration", "ip_type": "other"},
            )
            assert r.status_code == 201, r.text
            assert await status(ci) == 200 and await status(web) == 200

            # list: id, organization, name, prefix, created, revoked; never the token
            r = run_cli(home, "token", "list")
            assert r.returncode == 0, r.stderr
            lines = r.stdout.strip().splitlines()
            assert lines[0].split() == ["id", "organization", "name", "prefix", "created", "revoked"]
            assert lines[1].split()[:4] == ["1", "acme", "ci", ci[:8]] and lines[1].split()[-1] == "no"
            assert lines[2].split()[:4] == ["2", "globex", "web", web[:8]]
            assert ci not in r.stdout and web not in r.stdout

            # revoke by prefix: the running app refuses the token from its next request on
            r = run_cli(home, "token", "revoke", ci[:8])
            assert r.returncode == 0 and "revoked token 1" in r.stdout, r.stderr
            assert await status(ci) == 401 and await status(web) == 200

            # rotate by id: a new token for the same organization and name; the old one is revoked
            r = run_cli(home, "token", "rotate", "2")
            assert r.returncode == 0, r.stderr
            new = r.stdout.strip().splitlines()[-1]
            assert new.startswith("tlr_") and new not in (ci, web)
            assert await status(web) == 401
            r = await c.get(projects, headers={"api_token": new})
            assert r.status_code == 200 and [p["project_name"] for p in r.json()] == ["P"]

            rows = json.loads(run_cli(home, "token", "list", "--json").stdout)
            assert [(t["id"], t["organization"], t["name"], t["revoked"]) for t in rows] == [
                (1, "acme", "ci", True),
                (2, "globex", "web", True),
                (3, "globex", "web", False),
            ]
            assert set(rows[0]) == {"id", "organization", "name", "prefix", "created", "revoked"}

            # an ambiguous or unknown reference changes nothing
            r = run_cli(home, "token", "revoke", "tlr_")
            assert r.returncode == 1 and "matches 3 tokens" in r.stderr
            r = run_cli(home, "token", "rotate", "42")
            assert r.returncode == 1 and "no token" in r.stderr
            assert await status(new) == 200
    finally:
        rt.close()
