"""The project's conventions hold by themselves: layer contracts, ruff, and mypy on the package."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_import_contracts_are_kept() -> None:
    r = _run(str(BIN / "lint-imports"), "--no-cache")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert "0 broken" in r.stdout


def test_ruff_is_clean() -> None:
    r = _run(str(BIN / "ruff"), "check", "--no-cache", "src", "tests", "benchmarks")
    assert r.returncode == 0, r.stdout[-3000:]


@pytest.mark.slow
def test_mypy_is_clean_on_the_package() -> None:
    r = _run(str(BIN / "mypy"), "--no-incremental", "src")
    assert r.returncode == 0, r.stdout[-3000:]
