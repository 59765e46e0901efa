"""build_once: one build however many processes ask at once; nothing half-built is ever seen."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import pytest

from tailor.infra.build_once import build_once


def _is_built(path: Path) -> bool:
    return (path / "done").is_file()


def _slow_build(folder: Path) -> None:
    with open(folder.parent / "builds.log", "a") as log:
        log.write("build\n")
    (folder / "part").write_text("first half")
    time.sleep(0.3)  # a second caller arrives while this one builds
    (folder / "done").write_text("ok")


def _ask(target: str) -> None:
    built = build_once(Path(target), _slow_build, _is_built)
    assert (built / "part").read_text() == "first half"


def test_concurrent_callers_build_once(tmp_path: Path) -> None:
    target = tmp_path / "model"
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_ask, args=(str(target),)) for _ in range(3)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
    assert [proc.exitcode for proc in procs] == [0, 0, 0]
    assert (tmp_path / "builds.log").read_text() == "build\n"
    assert sorted(p.name for p in target.iterdir()) == ["done", "part"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".model-")]  # no temp left


def test_failed_build_leaves_nothing_and_next_call_builds(tmp_path: Path) -> None:
    target = tmp_path / "model"

    def broken(folder: Path) -> None:
        (folder / "part").write_text("x")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        build_once(target, broken, _is_built)
    assert not target.exists()
    assert [p.name for p in tmp_path.iterdir()] == [".model.lock"]

    assert build_once(target, _slow_build, _is_built) == target
    assert _is_built(target)


def test_leftover_without_marker_is_replaced(tmp_path: Path) -> None:
    target = tmp_path / "model"
    target.mkdir()
    (target / "stale").write_text("old layout")
    build_once(target, _slow_build, _is_built)
    assert sorted(p.name for p in target.iterdir()) == ["done", "part"]
