"""How long a training run will take, and how much disk its checkpoints need, before it starts.

The basis is what this installation's workers measured: every run records, in its progress
record's ``run`` object, the family and weights it trained, the device, the rank, the micro-batches
per step, its mean seconds per step, its setup time (loading the base model and caching the
dataset), its time per checkpoint (files and sample image) and the size of one checkpoint's files.
An estimate takes the newest runs of the model's family on the configured weights and on the
device of the newest of them, at the same rank when there are some (else the nearest rank),
and uses the median of up to ``RUNS`` of them; seconds per step scale with the micro-batches per
step, file sizes with the rank. Without any such run the basis is a stated figure from the
benchmarks (``DEFAULTS``), and the answer says which.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from statistics import median
from typing import Any

from sqlalchemy.orm import Session

from tailor.domain import models as rules
from tailor.domain.enums import ModelStatus
from tailor.domain.errors import Conflict
from tailor.services.models import get_model, parameters_for
from tailor.store import models as store

RUNS = 5  # the newest matching runs an estimate takes the median of


@dataclass(frozen=True)
class Installation:
    """What the workers of this installation train with (from the settings)."""

    weights: str  # the configured weights of the model's family (hub id, directory or "tiny")
    tiny: bool
    grad_accumulation: int
    max_steps: int | None = None  # TAILOR_TRAINING_MAX_STEPS (development)
    checkpoint_interval: int | None = None  # TAILOR_TRAINING_CHECKPOINT_INTERVAL (development)


@dataclass(frozen=True)
class Default:
    """A stated figure for an installation that has measured no run yet."""

    seconds_per_step: float
    grad_accumulation: int  # the micro-batches per step the figure was measured at
    source: str
    lora_params_per_rank: int | None = None  # LoRA parameters at rank 1 on the family's targets
    adapter_bytes_per_param: int = 2  # bf16 on CUDA


# FIBO's LoRA parameters at rank 1 on its reference targets, counted on the real architecture
# (engine.memory.fibo_parameters; a test keeps the two equal).
FIBO_LORA_PARAMS_PER_RANK = 3_683_376

DEFAULTS: dict[str, Default] = {
    "tiny": Default(
        seconds_per_step=0.0104,
        grad_accumulation=1,
        source="benchmark figure (benchmarks/train.py, docs/benchmarks.md): the tiny development "
        "model on a 2-core CPU, 0.0104 s per step of one image; setup and checkpoints not included",
    ),
    "fibo": Default(
        seconds_per_step=2.4,
        grad_accumulation=4,
        source="stated target, not yet measured on a GPU (docs/gpu.md): Bria's recipe, 1501 steps of "
        "4 images at 1024x1024, within 60 minutes on one H100 (2.4 s per step); setup and "
        "checkpoints not included",
        lora_params_per_rank=FIBO_LORA_PARAMS_PER_RANK,
    ),
}


def training_estimate(
    session: Session,
    organization_id: int,
    model_id: int,
    params: dict[str, Any],
    installation: Callable[[str], Installation],
) -> dict[str, Any]:
    """The estimate for ``model`` trained with ``params`` (the expert parameters a start would take;
    none: those recorded when it started, else what a start would choose). ``installation(family)``
    says what this installation's workers train ``family`` with (``bootstrap.training_installation``:
    the settings read by the engine)."""
    model = get_model(session, organization_id, model_id)
    if model.dataset_id is None:
        raise Conflict(
            f"model {model_id} was uploaded, not trained on a dataset: there is nothing to estimate"
        )
    params = {k: v for k, v in params.items() if v is not None}
    if not params and model.status != ModelStatus.Created and model.training_parameters:
        chosen = rules.TrainingParameters.from_dict(model.training_parameters)
    else:
        images, _ = store.count_images(session, model.dataset_id)
        project = store.get_project(session, organization_id, model.project_id)
        chosen = parameters_for(model, project, params, images)
    family = model.training_version or "fibo"
    inst = installation(family)
    total = min(chosen.total_training_steps, inst.max_steps or chosen.total_training_steps)
    marks = rules.checkpoint_steps(total, inst.checkpoint_interval or chosen.checkpoint_interval)
    overrides = []  # development settings that change the run from its parameters
    if total < chosen.total_training_steps:
        overrides.append(f"TAILOR_TRAINING_MAX_STEPS caps the run at {total} steps")
    if inst.checkpoint_interval and inst.checkpoint_interval != chosen.checkpoint_interval:
        overrides.append(
            f"TAILOR_TRAINING_CHECKPOINT_INTERVAL checkpoints every {inst.checkpoint_interval} steps"
        )
    records = store.recent_training_records(session, family)
    figures = _measured(records, inst, chosen.rank) or _default(family, inst, chosen.rank)
    sps, setup, per_ckpt = (
        figures["seconds_per_step"],
        figures["setup_seconds"],
        figures["checkpoint_seconds"],
    )
    seconds = None if sps is None else total * sps + (setup or 0.0) + len(marks) * (per_ckpt or 0.0)
    adapter, state, sample = figures["adapter_bytes"], figures["state_bytes"], figures["sample_bytes"]
    disk = None
    if adapter is not None:
        # every checkpoint keeps its adapter and sample, the latest its resumable state; the final
        # adapter is copied once more and packaged for download
        disk = len(marks) * (adapter + (sample or 0)) + (state or 0) + 2 * adapter
    return {
        "model_id": model.id,
        "training_parameters": chosen.to_dict(),
        "total_steps": total,
        "checkpoint_steps": marks,
        "estimated_seconds": None if seconds is None else round(seconds, 1),
        "seconds_per_step": None if sps is None else float(f"{sps:.4g}"),
        "setup_seconds": setup,
        "checkpoint_seconds": per_ckpt,
        "checkpoint_bytes": None if adapter is None else adapter + (sample or 0),
        "disk_bytes": disk,
        "basis": figures["basis"],
        "overrides": overrides,
    }


def _measured(records: list[dict[str, Any]], inst: Installation, rank: int) -> dict[str, Any] | None:
    runs = [
        r["run"]
        for r in records
        if isinstance(r.get("run"), dict)
        and r["run"].get("weights") == inst.weights
        and _positive(r["run"].get("seconds_per_step"))
        and _positive(r["run"].get("rank"))
    ]
    if not runs:
        return None
    device = runs[0].get("device")
    runs = [r for r in runs if r.get("device") == device]
    nearest = min(abs(int(r["rank"]) - rank) for r in runs)
    runs = [r for r in runs if abs(int(r["rank"]) - rank) == nearest][:RUNS]
    ranks = sorted({int(r["rank"]) for r in runs})

    def mid(key: str, scale: Any = None) -> float | None:
        values = [
            float(r[key]) * (scale(r) if scale else 1.0) for r in runs if _positive(r.get(key), zero=True)
        ]
        return median(values) if values else None

    sps = mid(
        "seconds_per_step", lambda r: inst.grad_accumulation / max(1, int(r.get("grad_accumulation") or 1))
    )
    if sps is None:  # not reached: every run kept has one
        return None
    setup = mid("setup_seconds")
    per_ckpt = mid("checkpoint_seconds")
    per_rank = lambda r: rank / int(r["rank"])  # noqa: E731 - LoRA files grow linearly with the rank
    adapter, state, sample = mid("adapter_bytes", per_rank), mid("state_bytes", per_rank), mid("sample_bytes")
    images = inst.grad_accumulation
    per_step = f"{images} image{'s' if images > 1 else ''} per step"
    latest = "the latest run" if len(runs) == 1 else f"median of the {len(runs)} latest runs"
    rank_note = (
        f"rank {rank}"
        if ranks == [rank]
        else f"rank {'/'.join(map(str, ranks))}, sizes scaled to rank {rank}"
    )
    return {
        "seconds_per_step": sps,
        "setup_seconds": None if setup is None else round(setup, 1),
        "checkpoint_seconds": None if per_ckpt is None else round(per_ckpt, 2),
        "adapter_bytes": None if adapter is None else int(adapter),
        "state_bytes": None if state is None else int(state),
        "sample_bytes": None if sample is None else int(sample),
        "basis": {
            "source": "measured",
            "runs": len(runs),
            "device": device,
            "weights": inst.weights,
            "ranks": ranks,
            "description": f"{latest} on this installation ({device}, {rank_note}, {per_step})",
        },
    }


def _default(family: str, inst: Installation, rank: int) -> dict[str, Any]:
    figure = DEFAULTS["tiny"] if inst.tiny else DEFAULTS.get(family)
    if figure is None:
        return {
            "seconds_per_step": None,
            "setup_seconds": None,
            "checkpoint_seconds": None,
            "adapter_bytes": None,
            "state_bytes": None,
            "sample_bytes": None,
            "basis": {
                "source": "none",
                "runs": 0,
                "device": None,
                "weights": inst.weights,
                "ranks": [],
                "description": f"no run of {family} on {inst.weights} measured on this installation yet "
                "and no benchmark figure for it: the first run gives the estimate",
            },
        }
    sps = figure.seconds_per_step * inst.grad_accumulation / figure.grad_accumulation
    adapter = state = None
    if figure.lora_params_per_rank is not None:
        params = figure.lora_params_per_rank * rank
        adapter = params * figure.adapter_bytes_per_param
        state = params * 4 * 3  # float32 weights and AdamW's two moments
    return {
        "seconds_per_step": sps,
        "setup_seconds": None,
        "checkpoint_seconds": None,
        "adapter_bytes": adapter,
        "state_bytes": state,
        "sample_bytes": None,
        "basis": {
            "source": "default",
            "runs": 0,
            "device": None,
            "weights": inst.weights,
            "ranks": [],
            "description": f"no run measured on this installation yet; {figure.source}",
        },
    }


def _positive(value: Any, *, zero: bool = False) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return value >= 0 if zero else value > 0
