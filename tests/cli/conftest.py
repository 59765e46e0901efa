"""CLI fixtures: a live server on the tiny model, and ``tailor`` run through its real entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tailor.config import Settings
from tests.client.support import tiny_settings


@pytest.fixture
def settings(tmp_path: Path, db_url: str, tiny_dir: Path) -> Settings:
    return tiny_settings(tmp_path / "home", db_url, tiny_dir)


@dataclass
class Result:
    rc: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def _entry() -> list[str]:
    script = Path(sys.executable).parent / "tailor"
    return [str(script)] if script.exists() else [sys.executable, "-m", "tailor.cli.main"]


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    """An environment with no token or URL configured and an empty TAILOR_HOME."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAILOR_")}
    env["TAILOR_HOME"] = str(tmp_path / "cli-home")
    env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    env["COLUMNS"] = "200"
    return env


@pytest.fixture
def tailor(token: str, live_server: str, cli_env: dict[str, str], tmp_path: Path) -> Callable[..., Result]:
    """``tailor(*args)`` runs the CLI against the live server with TAILOR_URL/TAILOR_TOKEN set."""
    env = {**cli_env, "TAILOR_URL": live_server, "TAILOR_TOKEN": token}

    def run(*args: str, env_extra: dict[str, str] | None = None, timeout: float = 600) -> Result:
        r = subprocess.run(
            [*_entry(), *args],
            capture_output=True,
            text=True,
            env={**env, **(env_extra or {})},
            cwd=tmp_path,
            timeout=timeout,
        )
        assert "Traceback" not in r.stderr, r.stderr
        return Result(r.returncode, r.stdout, r.stderr)

    return run
