"""A job's child process exits when its worker dies, by the lifeline alone (no parent-death signal)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.jobs.conftest import REPO, wait_until


def _running(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("mode", ["pipe", "poll"])
def test_child_exits_when_its_parent_is_sigkilled(mode: str, tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)])}
    parent = subprocess.Popen(
        [sys.executable, "-m", "tests.jobs.lifeline_helper", str(pid_file), mode], env=env, cwd=REPO
    )
    child = 0
    try:
        wait_until(lambda: pid_file.exists() and pid_file.read_text(), timeout_s=30, what="the child")
        child = int(pid_file.read_text())
        time.sleep(0.3)  # bound and watching
        assert _running(child)
        parent.kill()
        parent.wait()
        wait_until(lambda: not _running(child), timeout_s=3, what="the child to exit with its parent")
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        if child and _running(child):
            os.kill(child, signal.SIGKILL)
