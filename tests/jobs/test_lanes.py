"""Interactive work never waits behind training on the default install: `tailor serve` keeps a
worker lane for long kinds, and a status says where a waiting job stands."""

from __future__ import annotations

from pathlib import Path

import pytest

from tailor.bootstrap import Runtime
from tailor.config import Settings
from tailor.domain.enums import JobState
from tailor.domain.jobs import ALL_KINDS, TRAIN_MODEL, Priority
from tailor.worker.supervisor import WorkerSupervisor, plan_lanes
from tests.conftest import REPO
from tests.jobs.conftest import wait_until, worker_env
from tests.jobs.test_workers import _add, _state


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """Lanes are the same on every database: SQLite only."""
    return f"sqlite:///{tmp_path / 'tailor.db'}"


def _lanes(rt: Runtime, settings: Settings) -> list[list[str] | None]:
    kinds = [(n, rt.registry.kind(n).priority >= Priority.LONG) for n in rt.registry.names]
    return plan_lanes(settings.workers, settings.long_job_workers, kinds)


def test_the_default_install_keeps_training_in_its_own_lane() -> None:
    defaults = Settings()
    kinds = [(k.name, k.priority >= Priority.LONG) for k in ALL_KINDS]
    lanes = plan_lanes(defaults.workers, defaults.long_job_workers, kinds)
    long_lane = lanes[-1]
    assert long_lane is not None and TRAIN_MODEL.name in long_lane  # with the other LONG kinds (video)
    assert all(k.priority >= Priority.LONG for k in ALL_KINDS if k.name in long_lane)
    short = lanes[0]
    assert short is not None and TRAIN_MODEL.name not in short
    assert {"generate_image", "caption_image", "bulk_upload", "structured_prompt"} <= set(short)
    assert plan_lanes(1, 0, kinds) == [None]  # 0 long workers: every worker takes everything
    assert plan_lanes(0, 1, kinds) == []  # remote workers only


@pytest.mark.slow
def test_short_work_runs_while_a_long_job_holds_its_worker(
    runtime: Runtime, settings: Settings, tmp_path: Path
) -> None:
    lanes = _lanes(runtime, settings.model_copy(update={"workers": 1, "long_job_workers": 1}))
    sup = WorkerSupervisor(len(lanes), env=worker_env(settings), cwd=str(REPO), kinds=lanes)
    sup.start()
    try:
        pid_file = tmp_path / "block.pid"
        long_id = _add(runtime, "test_block", {"pid_file": str(pid_file), "seconds": 60})
        wait_until(lambda: _state(runtime, long_id) == JobState.running, what="the long job to start")
        short_id = _add(runtime, "test_noop", {})
        wait_until(lambda: runtime.queue.is_terminal(short_id), timeout_s=20, what="the short job")
        assert _state(runtime, short_id) == JobState.completed
        assert _state(runtime, long_id) == JobState.running
        runtime.queue.cancel(long_id)
    finally:
        sup.stop(timeout_s=15)
