"""Tailored models: the status state machine and the training parameters' rules.

Status machine (the contract's values)::

    Created ──start_training──► InProgress ──► Completed
                                    │  └─────► Failed
                                    └─stop───► Stopping ──► Stopped

    upload_model ──► Syncing ──► Completed | Failed

    Stopped ──complete_from_checkpoint──► Completed (serving one of its saved checkpoints)

    Created, Completed, Failed, Stopped ──delete──► Deleted (the record stays; its files go)

A stopped or failed model is never resumed (a new model is created instead); a stopped model that
saved checkpoints can be completed from one of them, which then is its served version. A worker that dies
mid-training does not change the status: the job is claimed again and resumes from its latest
checkpoint.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass
from typing import Any

from tailor.domain.enums import LrScheduler, ModelStatus
from tailor.domain.errors import Conflict, InvalidInput
from tailor.domain.families import FAMILY_SPECS, family_spec

TRANSITIONS: dict[ModelStatus, frozenset[ModelStatus]] = {
    ModelStatus.Created: frozenset({ModelStatus.InProgress, ModelStatus.Deleted}),
    ModelStatus.InProgress: frozenset({ModelStatus.Completed, ModelStatus.Failed, ModelStatus.Stopping}),
    ModelStatus.Stopping: frozenset({ModelStatus.Stopped}),
    ModelStatus.Syncing: frozenset({ModelStatus.Completed, ModelStatus.Failed}),
    ModelStatus.Completed: frozenset({ModelStatus.Deleted}),
    ModelStatus.Failed: frozenset({ModelStatus.Deleted}),
    ModelStatus.Stopped: frozenset({ModelStatus.Completed, ModelStatus.Deleted}),
    ModelStatus.Deleted: frozenset(),
}

TRAINING = frozenset({ModelStatus.InProgress, ModelStatus.Stopping})

FIBO_VERSION = "fibo"


def can_transition(current: str, target: str) -> bool:
    return ModelStatus(target) in TRANSITIONS[ModelStatus(current)]


def transition(current: str, target: str) -> ModelStatus:
    """The new status, or Conflict when the machine does not allow the move."""
    if not can_transition(current, target):
        raise Conflict(f"model status cannot change from {current} to {target}")
    return ModelStatus(target)


def is_training(status: str) -> bool:
    return ModelStatus(status) in TRAINING


def check_can_start(status: str) -> None:
    if ModelStatus(status) != ModelStatus.Created:
        raise Conflict(
            f"training already started or cannot be resumed (model status is {status}); "
            "create a new model to train again"
        )


def check_can_stop(status: str) -> None:
    if ModelStatus(status) != ModelStatus.InProgress:
        raise Conflict(f"model is not in training (status is {status})")


def check_can_delete(status: str) -> None:
    if is_training(status):
        raise Conflict(f"cannot delete a model while it is in training (status is {status})")
    if ModelStatus(status) == ModelStatus.Syncing:
        raise Conflict("cannot delete a model while its uploaded file is being fetched (status is Syncing)")


def generation_prefix(training_version: str | None, caption_prefix: str | None) -> str | None:
    """``generation_prefix`` on the wire: FIBO models (every family Tailor trains) are prompted with
    structured prompts and have none (null); a legacy-trained model's is its dataset's caption prefix."""
    return None if (training_version or FIBO_VERSION) in FAMILY_SPECS else caption_prefix


CUSTOM_METADATA_MAX = 10_000


def custom_metadata(value: object) -> str:
    """``custom_metadata`` as stored: a string as given, or a JSON object/array serialized."""
    if isinstance(value, dict | list):
        value = json.dumps(value, separators=(",", ":"), sort_keys=True)
    if not isinstance(value, str):
        raise InvalidInput("custom_metadata must be a string (or a JSON object)", field="custom_metadata")
    if len(value) > CUSTOM_METADATA_MAX:
        raise InvalidInput(
            f"custom_metadata must be at most {CUSTOM_METADATA_MAX} characters", field="custom_metadata"
        )
    return value


# --- training parameters -----------------------------------------------------------------------

DEFAULT_LR_SCHEDULER = LrScheduler.constant_with_warmup
DEFAULT_LEARNING_RATE = 1e-4
DEFAULT_TOTAL_STEPS = 750
DEFAULT_RANK = 128
DEFAULT_CHECKPOINT_INTERVAL = 500
DEFAULT_WARMUP_STEPS = 100

LEARNING_RATE_RANGE = (1e-6, 1e-3)
TOTAL_STEPS_RANGE = (1, 5000)
RANK_RANGE = (4, 256)
MIN_CHECKPOINT_INTERVAL = 100
WARMUP_RANGE = (0, 1000)

PARAMETER_NAMES = (
    "lr_scheduler",
    "learning_rate",
    "total_training_steps",
    "rank",
    "checkpoint_interval",
    "lr_warmup_steps",
)


@dataclass(frozen=True)
class TrainingParameters:
    """What a training run uses; ``lr_warmup_steps`` is None unless the scheduler warms up."""

    learning_rate: float = DEFAULT_LEARNING_RATE
    lr_scheduler: str = DEFAULT_LR_SCHEDULER.value
    rank: int = DEFAULT_RANK
    total_training_steps: int = DEFAULT_TOTAL_STEPS
    checkpoint_interval: int = DEFAULT_CHECKPOINT_INTERVAL
    lr_warmup_steps: int | None = DEFAULT_WARMUP_STEPS

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainingParameters:
        return cls(**{k: data[k] for k in PARAMETER_NAMES if k in data})

    @property
    def warmup_steps(self) -> int:
        """Warmup actually applied by the scheduler (0 when not a warmup scheduler)."""
        return int(self.lr_warmup_steps or 0)


def _number(name: str, value: Any, *, integer: bool) -> float | int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        kind = "an integer" if integer else "a number"
        raise InvalidInput(f"{name} must be {kind}", field=name)
    if integer:
        if isinstance(value, float) and not value.is_integer():
            raise InvalidInput(f"{name} must be an integer", field=name)
        return int(value)
    return float(value)


def _in_range(name: str, value: float, lo: float, hi: float | None) -> None:
    if value < lo or (hi is not None and value > hi):
        rule = f"between {lo:g} and {hi:g}" if hi is not None else f"at least {lo:g}"
        raise InvalidInput(f"{name} must be {rule} (got {value:g})", field=name)


def validate_expert_parameters(raw: dict[str, Any]) -> TrainingParameters:
    """Apply the contract's defaults and ranges to expert parameters; InvalidInput names the field."""
    unknown = sorted(set(raw) - set(PARAMETER_NAMES))
    if unknown:
        raise InvalidInput(f"{unknown[0]}: unknown training parameter", field=unknown[0])
    values = {k: v for k, v in raw.items() if v is not None}

    scheduler = values.get("lr_scheduler", DEFAULT_LR_SCHEDULER.value)
    allowed = [s.value for s in LrScheduler]
    if scheduler not in allowed:
        raise InvalidInput(f"lr_scheduler must be one of {', '.join(allowed)}", field="lr_scheduler")

    lr = _number("learning_rate", values.get("learning_rate", DEFAULT_LEARNING_RATE), integer=False)
    _in_range("learning_rate", lr, *LEARNING_RATE_RANGE)
    steps = _number(
        "total_training_steps", values.get("total_training_steps", DEFAULT_TOTAL_STEPS), integer=True
    )
    _in_range("total_training_steps", steps, *TOTAL_STEPS_RANGE)
    rank = _number("rank", values.get("rank", DEFAULT_RANK), integer=True)
    _in_range("rank", rank, *RANK_RANGE)
    interval = _number(
        "checkpoint_interval",
        values.get("checkpoint_interval", DEFAULT_CHECKPOINT_INTERVAL),
        integer=True,
    )
    _in_range("checkpoint_interval", interval, MIN_CHECKPOINT_INTERVAL, None)
    if "lr_warmup_steps" in values:
        warmup = _number("lr_warmup_steps", values["lr_warmup_steps"], integer=True)
        _in_range("lr_warmup_steps", warmup, *WARMUP_RANGE)
        if warmup and warmup >= steps and scheduler == LrScheduler.constant_with_warmup:
            raise InvalidInput(
                f"lr_warmup_steps ({warmup}) must be less than total_training_steps ({steps}): "
                "the learning rate would never reach learning_rate",
                field="lr_warmup_steps",
            )
    else:  # the default warm-up; a short run (not over twice as long) warms up for a tenth of it
        warmup = DEFAULT_WARMUP_STEPS if steps > 2 * DEFAULT_WARMUP_STEPS else int(steps) // 10

    return TrainingParameters(
        learning_rate=float(lr),
        lr_scheduler=scheduler,
        rank=int(rank),
        total_training_steps=int(steps),
        checkpoint_interval=int(interval),
        lr_warmup_steps=int(warmup) if scheduler == LrScheduler.constant_with_warmup else None,
    )


def checkpoint_steps(total_steps: int, interval: int) -> list[int]:
    """The steps at which a run saves a checkpoint: every ``interval`` steps, and the last step."""
    steps = list(range(interval, total_steps + 1, interval)) if interval > 0 else []
    if not steps or steps[-1] != total_steps:
        steps.append(total_steps)
    return steps


def render_version(step: int | None) -> str:
    """``active_model_version`` on the wire: the step as a string, or ``"default"`` before training."""
    return "default" if step is None else str(step)


# --- where a model's files live in the blob store ------------------------------------------------


def new_model_prefix(organization_id: int, model_id: int) -> str:
    """A fresh prefix for a new model's files: its organization, its id and a random part.

    The random part means a key can never be guessed, and never names the files of an earlier
    model, even one restored from a backup that reissued its id.
    """
    return f"models/{organization_id}/{model_id}-{secrets.token_hex(8)}/"


# Every training run (one attempt of a training job) writes its files under its own random run id,
# so no two runs, an orphaned one included, ever write the same key: the records say which run's
# files are the model's. Keys under these two folders that no record names are garbage (the sweeper
# removes them); exports and files of the earlier layout sit elsewhere under the model's prefix.
CHECKPOINTS_DIR = "checkpoints/"
FINAL_DIR = "final/"


def new_run_id() -> str:
    return secrets.token_hex(6)


def checkpoint_prefix(model_prefix: str, step: int, run: str | None = None) -> str:
    """The folder of one step's checkpoint files (of every run, or of ``run``)."""
    folder = f"{model_prefix}{CHECKPOINTS_DIR}{step:06d}/"
    return folder if run is None else f"{folder}{run}/"


def final_adapter_key(model_prefix: str, run: str) -> str:
    """Where ``run`` puts the final adapter (models trained before runs had ids keep
    ``<prefix>adapter.safetensors``; the model's ``adapter_key`` names whichever it is)."""
    return f"{model_prefix}{FINAL_DIR}{run}/adapter.safetensors"


def export_key(model_prefix: str, step: int | None) -> str:
    return f"{model_prefix}export/{'final' if step is None else f'{step:06d}'}.zip"


# --- the model card shipped with a download ------------------------------------------------------

BASE_MODEL_NAME = "BRIA-FIBO"
BASE_MODEL_CARD = "https://huggingface.co/briaai/FIBO"
BASE_MODEL_LICENSE = "CC BY-NC 4.0"


def model_card(
    *,
    name: str,
    description: str | None,
    base_model: str,
    parameters: dict[str, Any] | None,
    images_count: int,
    step: int | None,
    ip_type: str | None,
    ip_medium: str | None,
    visual_schema: str | None,
    rank: int | None,
    base_model_name: str = BASE_MODEL_NAME,
    base_model_card: str = BASE_MODEL_CARD,
    licence: str | None = None,
    pipeline_class: str = "BriaFiboPipeline",
) -> str:
    """A markdown model card: what was trained, on what, how, and under which licence (FIBO's
    unless the family's ``licence`` notice is given)."""
    params = parameters or {}
    licence_line = licence or (
        f"the FIBO weights are licensed {BASE_MODEL_LICENSE} "
        "(https://creativecommons.org/licenses/by-nc/4.0/); this adapter is a derivative and is "
        "distributed under the same terms."
    )
    lines = [
        f"# {name}",
        "",
        description or "A LoRA adapter for FIBO, trained with Tailor.",
        "",
        "## Base model",
        "",
        f"- Base model: {base_model_name} ({base_model_card}); weights used for training: `{base_model}`",
        f"- Licence: {licence_line}",
        "",
        "## Training",
        "",
        f"- IP type / medium: {ip_type or 'n/a'} / {ip_medium or 'n/a'}",
        f"- Dataset size: {images_count} images, captioned with structured (JSON) prompts",
        f"- Checkpoint (step): {step if step is not None else 'final'}",
        f"- LoRA rank / alpha: {rank or params.get('rank')} / {rank or params.get('rank')}",
    ]
    for key in PARAMETER_NAMES:
        if key in params:
            lines.append(f"- {key}: {params[key]}")
    lines += [
        "",
        "## Files",
        "",
        "- `diffusers/pytorch_lora_weights.safetensors`: diffusers LoRA format (LoraConfig in the "
        f"header); load with `{pipeline_class}.load_lora_weights(path)`. This is also what ComfyUI "
        "custom nodes that run FIBO load (they call diffusers); ComfyUI core has no FIBO model.",
    ]
    if pipeline_class == "BriaFiboPipeline":  # FIBO's reference recipe and prompt format
        lines += [
            "",
            "## Recipe",
            "",
            "Bria's FIBO fine-tuning recipe: LoRA on the attention, feed-forward and AdaLN modulation "
            "layers (lora_alpha = rank, gaussian init), bf16 base weights with float32 LoRA weights, "
            "FIBO's training resolutions (nine ~1 MP buckets, bilinear resize and center crop), VAE "
            "latents encoded in float32, the shifted logit-normal timestep sampler. Deliberate "
            "differences from Bria's script: AdamW (betas 0.9/0.999, weight decay 1e-4, eps 1e-15) at "
            "the learning rate above instead of Prodigy at 1.0, because the Tailored Generation API's "
            "parameters are AdamW's; the loss is the mean over the global batch whatever the number of "
            "GPUs (Bria's script scales it with the world size).",
            "",
            "## Prompts",
            "",
            "Serialise structured prompts as FIBO does: compact JSON (no spaces after `,` and `:`, "
            "non-ASCII escaped, e.g. `ujson.dumps(prompt, escape_forward_slashes=False)`), with "
            '`aesthetics.preference_score` and `aesthetics.aesthetic_score` set (Bria uses "very high").',
        ]
    lines += [
        "",
        "## Trigger",
        "",
        "No trigger word: the adapter is conditioned on FIBO structured prompts. Prompts that keep the "
        "visual schema below (style, medium, palette, recurring subject) bring out the trained IP.",
    ]
    if visual_schema:
        lines += ["", "```json", visual_schema, "```"]
    return "\n".join(lines) + "\n"


def model_card_for(
    model: Any, project: Any | None, *, images_count: int, base_model: str, step: int | None, rank: int | None
) -> str:
    """The model card of ``model`` (a tailored model record) in ``project`` at ``step``, naming its
    base-model family and the weights it was trained on (``model.base_weights`` when recorded)."""
    family = family_spec(getattr(model, "training_version", None) or "fibo")
    return model_card(
        name=model.name,
        description=model.description,
        base_model=getattr(model, "base_weights", None) or base_model,
        base_model_name=family.card_name,
        base_model_card=f"https://huggingface.co/{family.hub_id}",
        licence=family.card_licence,
        pipeline_class=family.pipeline_class,
        parameters=model.training_parameters,
        images_count=images_count,
        step=step,
        ip_type=project.ip_type if project else None,
        ip_medium=project.ip_medium if project else None,
        visual_schema=model.visual_schema,
        rank=rank,
    )


LOSS_HISTORY_POINTS = 400


# Facts of a run that a progress record keeps once set (a later record carries them over):
# when it started, the learning-rate schedule the trainer computed, what the checkpoint samples
# render, and the measurements an estimate of a later run is based on (``run``).
CARRIED_PROGRESS = ("started_at", "lr_schedule", "sample_prompt", "sample_seed", "run")
# Figures of the latest step that carry over to a record that does not restate them (the final one).
LATEST_PROGRESS = ("learning_rate", "elapsed_seconds", "seconds_per_step")


def training_progress(
    step: int,
    total_steps: int,
    *,
    loss: float | None = None,
    eta_seconds: float | None = None,
    sample_keys: list[str] | None = None,
    previous: dict[str, Any] | None = None,
    learning_rate: float | None = None,
    elapsed_seconds: float | None = None,
    seconds_per_step: float | None = None,
    facts: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A model's ``training_progress`` record at ``step``: losses rounded to 6 places, the ETA and
    elapsed time to 0.1 s. With ``previous`` (the record being replaced) the loss history carries
    over with this point added, and so do the run's facts (``CARRIED_PROGRESS``) and the latest
    figures this record does not restate; ``facts`` sets or updates run facts."""
    progress: dict[str, Any] = {
        "step": step,
        "total_steps": total_steps,
        "loss": None if loss is None else round(float(loss), 6),
        "eta_seconds": None if eta_seconds is None else round(float(eta_seconds), 1),
        "sample_keys": list(sample_keys or []),
        "learning_rate": None if learning_rate is None else float(f"{learning_rate:.6g}"),
        "elapsed_seconds": None if elapsed_seconds is None else round(float(elapsed_seconds), 1),
        "seconds_per_step": None if seconds_per_step is None else float(f"{seconds_per_step:.4g}"),
    }
    if previous is not None:
        progress["loss_history"] = extend_loss_history(previous, step, loss)
        for key in LATEST_PROGRESS:
            if progress[key] is None and previous.get(key) is not None:
                progress[key] = previous[key]
        for key in CARRIED_PROGRESS:
            if key in previous:
                progress[key] = previous[key]
    for key, value in (facts or {}).items():
        if key == "run" and isinstance(progress.get("run"), dict):
            progress["run"] = {**progress["run"], **value}
        else:
            progress[key] = value
    return progress


def extend_loss_history(progress: dict[str, Any] | None, step: int, loss: float | None) -> list[list[float]]:
    """The ``[step, loss]`` series of a run with one more point. Points at or past ``step`` (left by an
    attempt that died after its last checkpoint) are dropped; the series is thinned to stay short."""
    history = [p for p in (progress or {}).get("loss_history") or [] if p[0] < step]
    if loss is not None:
        history.append([step, round(float(loss), 6)])
    while len(history) > LOSS_HISTORY_POINTS:
        history = history[::2] + ([history[-1]] if len(history) % 2 == 0 else [])
    return history
