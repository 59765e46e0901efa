"""Bodies and responses of ``/v1/tailored-gen/models``: ``ModelCreate``, ``ModelUpdate``, renderers."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tailor.api.schemas.common import Id, IdText, UpdateBody
from tailor.api.schemas.v1_projects import utc
from tailor.domain.enums import IpMedium, IpType, ModelStatus, TrainingMode
from tailor.domain.evaluation import BEST_RULE
from tailor.domain.models import generation_prefix, render_version
from tailor.domain.signing import LinkSigner
from tailor.store.tables import Checkpoint, TailoredModel


class ModelCreate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str = Field(min_length=1, max_length=500, description="Name of the model.")
    dataset_id: Id = Field(description="The dataset to train on.")
    training_mode: TrainingMode = Field(
        TrainingMode.fully_automated,
        description="fully_automated: Tailor picks the recipe; expert: you set the parameters.",
    )
    description: str | None = Field(None, description="Description of the model.")
    custom_metadata: str | dict[str, Any] | None = Field(
        None, description="Free text kept with the model (a JSON object is stored as its JSON text)."
    )
    training_version: str | None = Field(
        None,
        max_length=32,
        description="Tailor's extension of Bria's values: the base-model family to train on, 'fibo' "
        "(default) or 'fibo-2'. A project holds models of one family.",
    )


class UploadProjectParameters(BaseModel):
    model_config = ConfigDict(extra="ignore")

    project_name: str | None = Field(
        None, min_length=1, max_length=500, description="Default: the model's name."
    )
    ip_medium: IpMedium | None = Field(None, description="Required when a project is created.")
    project_description: str | None = Field(None, max_length=10000)
    ip_type: IpType = IpType.other


class UploadModelRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model_url: str = Field(
        min_length=1,
        max_length=4096,
        description="Public http(s) URL of a .safetensors LoRA for the served base model (at most 3 GB).",
    )
    model_name: str | None = Field(None, max_length=500, description="Default: the file's name.")
    project_id: Id | None = Field(None, description="The project to add the model to.")
    project_parameters: UploadProjectParameters | None = Field(
        None, description="A new project for the model, when project_id is not given."
    )
    description: str | None = Field(None, description="Tailor: the model's description.")
    custom_metadata: str | dict[str, Any] | None = Field(None, description="Free text kept with the model.")


class ModelUpdate(UpdateBody):
    name: str | None = Field(None, min_length=1, max_length=500)
    description: str | None = None
    custom_metadata: str | dict[str, Any] | None = Field(
        None, description="Free text kept with the model (a JSON object is stored as its JSON text)."
    )
    active_model_version: IdText | Literal["best"] | None = Field(
        None,
        description="Tailor: the checkpoint step served for inference (a Completed model's checkpoint), "
        'or "best": the checkpoint the evaluation suggests (GET /models/{id}/evaluation).',
    )


class CompleteFromCheckpoint(BaseModel):
    """Tailor: which checkpoint a Stopped model is completed from (the latest when left out)."""

    model_config = ConfigDict(extra="forbid")

    checkpoint_step: Id | None = Field(
        None, description="A checkpoint step of the stopped run; the latest checkpoint when absent."
    )


def _time(value: datetime | None) -> str | None:
    """The same form as the other resources' timestamps: UTC with a ``Z``."""
    aware = utc(value)
    return aware.isoformat().replace("+00:00", "Z") if aware is not None else None


def render_progress(
    progress: dict[str, Any] | None, base_url: str, signer: LinkSigner
) -> dict[str, Any] | None:
    """``training_progress`` with sample image keys turned into signed URLs."""
    if progress is None:
        return None
    out = {k: v for k, v in progress.items() if k != "sample_keys"}
    out["sample_image_urls"] = [f"{base_url}{signer.path(k)}" for k in progress.get("sample_keys") or []]
    return out


def render_model(
    model: TailoredModel,
    steps: list[int],
    *,
    base_url: str,
    signer: LinkSigner,
    include_training: bool = True,
) -> dict[str, Any]:
    """A model object as the contract shows it, plus Tailor's ``training_progress`` (and ``error``)."""
    body: dict[str, Any] = {
        "id": model.id,
        "name": model.name,
        "description": model.description,
        "custom_metadata": model.custom_metadata if model.custom_metadata is not None else "",
        "status": model.status,
        "training_mode": model.training_mode,
        "training_version": model.training_version,
        "generation_prefix": generation_prefix(model.training_version, model.caption_prefix),
        "base_weights": model.base_weights,
        "project_id": model.project_id,
        "dataset_id": model.dataset_id,
        "active_model_version": render_version(model.active_model_version),
        "created_at": _time(model.created_at),
        "updated_at": _time(model.updated_at),
    }
    if include_training:
        body["training_parameters"] = dict(model.training_parameters or {})
        body["checkpoint_steps"] = [str(s) for s in steps]
    progress = render_progress(model.training_progress, base_url, signer)
    if progress is not None and model.status not in (ModelStatus.InProgress, ModelStatus.Stopping):
        progress["eta_seconds"] = None  # nothing is left to wait for once training has ended
    if progress is not None:
        body["training_progress"] = progress
    if model.status == ModelStatus.Failed and model.error:
        body["error"] = model.error
    return body


def render_checkpoint(row: Checkpoint, *, base_url: str, signer: LinkSigner) -> dict[str, Any]:
    body: dict[str, Any] = {
        "checkpoint_step": row.checkpoint_step,
        "training_job_id": row.training_job_id,
        "created_at": _time(row.created_at),
        "loss": row.loss,
    }
    if row.sample_key:
        body["sample_image_url"] = f"{base_url}{signer.path(row.sample_key)}"
    return body


class StartTraining(BaseModel):
    """Expert parameters (documentation of the body; the rules are applied in ``domain.models``)."""

    lr_scheduler: Literal[
        "linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup"
    ] = "constant_with_warmup"
    learning_rate: float = Field(1e-4, ge=1e-6, le=1e-3)
    total_training_steps: int = Field(750, ge=1, le=5000)
    rank: int = Field(128, ge=4, le=256)
    checkpoint_interval: int = Field(500, ge=100)
    lr_warmup_steps: int = Field(100, ge=0, le=1000, description="Used by constant_with_warmup only.")


START_TRAINING_DOC: dict[str, Any] = {
    "requestBody": {
        "required": False,
        "content": {"application/json": {"schema": StartTraining.model_json_schema()}},
    }
}


def _scores(row: Any) -> dict[str, Any] | None:
    return dict(row.scores) if row is not None and row.scores else None


def _grids(row: Any, base_url: str, signer: LinkSigner) -> list[str]:
    return [f"{base_url}{signer.path(k)}" for k in (row.grid_keys or [])] if row is not None else []


def render_evaluation(view: Any, *, base_url: str, signer: LinkSigner) -> dict[str, Any]:
    """``view`` is a ``services.evaluation.ModelEvaluation``."""
    base = view.base
    progress = view.model.training_progress or {}
    return {
        "model_id": view.model.id,
        "scorer": view.scorer,
        "base": None
        if base is None
        else {"scores": _scores(base), "grid_image_urls": _grids(base, base_url, signer)},
        "checkpoints": [
            {
                "checkpoint_step": c.checkpoint_step,
                "loss": c.loss,
                "sample_image_url": f"{base_url}{signer.path(c.sample_key)}" if c.sample_key else None,
                "scores": _scores(e),
                "grid_image_urls": _grids(e, base_url, signer),
                "error": e.error if e is not None else None,
            }
            for c, e in view.checkpoints
        ],
        "best_checkpoint_step": None if view.best_step is None else str(view.best_step),
        "best_rule": BEST_RULE,
        "active_model_version": render_version(view.model.active_model_version),
        "loss_history": progress.get("loss_history") or [],
    }
