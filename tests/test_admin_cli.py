"""Admin commands through the real entry point: db upgrade, token create, first-start token."""

from __future__ import annotations

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
