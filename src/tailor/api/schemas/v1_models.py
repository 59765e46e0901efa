"""Bodies and responses of ``/v1/tailored-gen/models``: ``ModelCreate``, ``ModelUpdate``, renderers."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tailor.api.schemas.common import Id, IdText, UpdateBody
from tailor.api.schemas.v1_projects import utc
from tailor.domain.enums import ModelStatus, TrainingMode
from tailor.domain.models import render_version
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
    training_version: str | None = Field(
        None,
        max_length=32,
        description="Tailor's extension of Bria's values: the base-model family to train on, 'fibo' "
        "(default) or 'fibo-2'. A project holds models of one family.",
    )


class ModelUpdate(UpdateBody):
    name: str | None = Field(None, min_length=1, max_length=500)
    description: str | None = None
    active_model_version: IdText | None = Field(
        None,
        description="Tailor: the checkpoint step served for inference (a Completed model's checkpoint).",
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
        "status": model.status,
        "training_mode": model.training_mode,
        "training_version": model.training_version,
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
