"""Which GPU each local worker gets: training groups (``TAILOR_TRAINING_DEVICES``) and generation
workers are kept apart, and a layout that puts them together is checked against the memory plan."""

from __future__ import annotations

import pytest

from tailor.config import Settings
from tailor.domain.jobs import ALL_KINDS, Priority
from tailor.worker.supervisor import Placement, check_layout, place_workers, plan_lanes, shared_devices

GPUS = [f"cuda:{i}" for i in range(8)]
KINDS = [(k.name, k.priority >= Priority.LONG) for k in ALL_KINDS]


def test_eight_gpus_two_generating_two_training_groups_of_three() -> None:
    lanes = plan_lanes(2, 2, KINDS)  # two short workers, two long (training) workers
    placed = place_workers(lanes, GPUS, "cuda:2,cuda:3,cuda:4;cuda:5,cuda:6,cuda:7")
    assert [(p.device, p.training_devices) for p in placed] == [
        ("cuda:0", None),
        ("cuda:1", None),
        ("cuda:2", "cuda:2,cuda:3,cuda:4"),
        ("cuda:5", "cuda:5,cuda:6,cuda:7"),
    ]
    assert shared_devices(placed) == []
    assert check_layout(Settings(base_model="briaai/FIBO"), placed) == []


def test_without_training_devices_workers_get_device_i_mod_n() -> None:
    placed = place_workers([None] * 3, GPUS[:2])
    assert [(p.device, p.training_devices) for p in placed] == [
        ("cuda:0", None),
        ("cuda:1", None),
        ("cuda:0", None),
    ]
    assert place_workers([None], []) == [Placement(None, None)]  # TAILOR_DEVICE as configured


def test_a_shared_gpu_is_allowed_only_when_the_plan_fits() -> None:
    # two workers that take every kind, one training group of both GPUs
    placed = place_workers([None, None], GPUS[:2], "2")
    assert [(p.device, p.training_devices) for p in placed] == [("cuda:0", "cuda:0,cuda:1")] * 2
    assert shared_devices(placed) == [
        (0, "cuda:0", "generation"),  # worker 1's runs put rank 0 there
        (1, "cuda:0", "generation"),  # worker 0's runs put rank 0 there
        (1, "cuda:0", "training"),  # two runs at once: two ranks on each GPU
        (1, "cuda:1", "training"),
    ]
    fibo = Settings(base_model="briaai/FIBO", gpu_memory_gb=40)
    with pytest.raises(
        ValueError,
        match=r"worker 0's generation .* and a training rank .* share cuda:0, which has 40.0 GiB: give",
    ):
        check_layout(fibo, placed)
    notes = check_layout(fibo.model_copy(update={"gpu_memory_gb": 141}), placed)
    assert notes and all("the plan fits" in n for n in notes)
    # the tiny model has no plan: the sharing is only noted
    assert check_layout(Settings(), placed)
