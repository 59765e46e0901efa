"""Tailored models: create, read, update, delete, start and stop training, checkpoints, download.

Collaborators come in as arguments: the session (one transaction), the blob store, the job queue
and, for downloads, an ``export`` function that packages an adapter (engine code, passed in by
the route so this module stays free of ML imports).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from tailor.domain import models as rules
from tailor.domain.enums import (
    TERMINAL_JOB_STATES,
    DatasetStatus,
    JobState,
    ModelStatus,
    TrainingMode,
)
from tailor.domain.errors import Conflict, InvalidInput, NotFound, PreconditionFailed
from tailor.domain.families import DEFAULT_FAMILY, FAMILY_SPECS
from tailor.domain.jobs import TRAIN_MODEL, TrainModel
from tailor.jobs.queue import JobQueue, enqueue
from tailor.services import quotas
from tailor.services.evaluation import best_step
from tailor.services.queue_status import queue_body
from tailor.services.training import choose_parameters
from tailor.store import checkpoints as ckpt_store
from tailor.store import models as store
from tailor.store.blob_base import BlobStore
from tailor.store.tables import Checkpoint, Job, TailoredModel

TRAIN_KIND = "train_model"

# package(blobs, adapter_key, dest_key, card_markdown) -> None: writes the download zip
ExportFn = Callable[[BlobStore, str, str, str], None]


def _name(value: Any, field: str = "name") -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{field} must be a non-empty string", field=field)
    if len(value) > 500:
        raise InvalidInput(f"{field} must be at most 500 characters", field=field)
    return value.strip()


def get_model(
    session: Session, organization_id: int, model_id: int, *, include_deleted: bool = False
) -> TailoredModel:
    """The organization's model; a Deleted one only with ``include_deleted`` (reading it shows
    its status, as Bria's delete documents; every other operation answers 404)."""
    model = store.get_model(session, organization_id, model_id)
    if model is None or (model.status == ModelStatus.Deleted and not include_deleted):
        raise NotFound(f"model {model_id} not found")
    refresh(session, model)
    return model


def create_model(
    session: Session,
    organization_id: int,
    *,
    name: str,
    dataset_id: int,
    training_mode: str = TrainingMode.fully_automated,
    description: str | None = None,
    custom_metadata: Any = None,
    training_version: str | None = None,
) -> TailoredModel:
    """A new model of ``dataset_id``, trained on the base-model family ``training_version``
    (``fibo`` by default; ``fibo-2`` is Tailor's extension of Bria's values)."""
    name = _name(name)
    metadata = rules.custom_metadata(custom_metadata) if custom_metadata is not None else None
    if training_mode not in {m.value for m in TrainingMode}:
        raise InvalidInput("training_mode must be fully_automated or expert", field="training_mode")
    family = training_version or DEFAULT_FAMILY
    if family not in FAMILY_SPECS:
        raise InvalidInput(
            f"training_version must be one of {', '.join(FAMILY_SPECS)} (got {family!r})",
            field="training_version",
        )
    dataset = store.get_dataset(session, organization_id, dataset_id)
    if dataset is None:
        raise NotFound(f"dataset {dataset_id} not found")
    project = store.get_project(session, organization_id, dataset.project_id)
    if project is not None and project.training_version and project.training_version != family:
        raise Conflict(
            f"project {project.id} is locked to training_version {project.training_version!r}; "
            f"a {family!r} model needs another project",
            field="training_version",
        )
    return store.add_model(
        session,
        organization_id=organization_id,
        project_id=dataset.project_id,
        dataset_id=dataset.id,
        name=name,
        description=description,
        status=ModelStatus.Created.value,
        training_mode=training_mode,
        training_version=family,
        custom_metadata=metadata,
    )


def list_models(
    session: Session, organization_id: int, *, project_id: int | None = None
) -> list[TailoredModel]:
    if project_id is not None and store.get_project(session, organization_id, project_id) is None:
        raise NotFound(f"project {project_id} not found")
    models, _ = store.list_models(session, organization_id, project_id=project_id)
    for m in models:
        refresh(session, m)
    return models


def update_model(
    session: Session,
    organization_id: int,
    model_id: int,
    *,
    name: str | None = None,
    description: str | None = None,
    active_model_version: str | int | None = None,
    custom_metadata: Any = None,
) -> TailoredModel:
    model = get_model(session, organization_id, model_id)
    if name is not None:
        model.name = _name(name)
    if description is not None:
        model.description = description
    if custom_metadata is not None:
        model.custom_metadata = rules.custom_metadata(custom_metadata)
    if active_model_version is not None:
        model.active_model_version = _checkpoint_step_of(session, model, active_model_version)
    session.flush()
    return model


def _checkpoint_step_of(session: Session, model: TailoredModel, value: str | int) -> int:
    """Validate a requested ``active_model_version``: a checkpoint step of a Completed model."""
    field = "active_model_version"
    if model.status != ModelStatus.Completed:
        raise Conflict(f"{field} can be chosen once training is Completed (status is {model.status})")
    if isinstance(value, str) and value.strip() == "best":
        return best_step(session, model)
    try:
        step = int(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{field} must be a checkpoint step (an integer)", field=field) from None
    if ckpt_store.get_checkpoint(session, model.id, step) is None:
        steps = ", ".join(str(s) for s in ckpt_store.checkpoint_steps(session, model.id)) or "none"
        raise InvalidInput(f"{field}: no checkpoint at step {step} (available: {steps})", field=field)
    return step


def delete_model(session: Session, organization_id: int, model_id: int, blobs: BlobStore) -> None:
    """Bria's semantics: the model's status becomes ``Deleted``. The record stays (reading it shows
    that status; lists and every other operation no longer see it), its checkpoints and files go."""
    model = get_model(session, organization_id, model_id)
    rules.check_can_delete(model.status)
    prefix = model.blob_prefix
    for row in ckpt_store.list_checkpoints(session, model.id):
        ckpt_store.delete_checkpoint(session, row)
    model.status = rules.transition(model.status, ModelStatus.Deleted)
    model.adapter_key = None
    model.adapter_sha256 = None
    model.active_model_version = None
    model.training_progress = None
    session.flush()
    session.commit()  # the record stops naming the files first: nothing may point at deleted files
    blobs.delete_prefix(prefix)


# --- training ------------------------------------------------------------------------------------


def start_training(
    session: Session,
    organization_id: int,
    model_id: int,
    params: dict[str, Any] | None,
    *,
    max_active: int,
) -> TailoredModel:
    """Validate, choose the parameters, snapshot the schema and enqueue the training job.

    ``max_active`` (pass ``settings.org_max_active_trainings``) is the organization's quota of
    active trainings (0: none)."""
    model = get_model(session, organization_id, model_id)
    rules.check_can_start(model.status)
    params = {k: v for k, v in (params or {}).items() if v is not None}
    if model.dataset_id is None:
        raise Conflict(f"model {model_id} was uploaded, not trained on a dataset: it cannot be trained")
    dataset = store.get_dataset(session, organization_id, model.dataset_id)
    if dataset is None:  # deleted datasets cascade to their models; kept for safety
        raise NotFound(f"dataset {model.dataset_id} not found")
    if dataset.status != DatasetStatus.completed:
        raise PreconditionFailed(
            f"dataset {dataset.id} status must be 'completed' to start training (it is '{dataset.status}')"
        )
    images, uncaptioned = store.count_images(session, dataset.id)
    if uncaptioned:
        raise PreconditionFailed(
            f"dataset {dataset.id} has {uncaptioned} image(s) without a caption; "
            "wait for captioning to finish or set the captions"
        )
    project = store.get_project(session, organization_id, model.project_id)
    chosen = parameters_for(model, project, params, images)

    quotas.check(session, organization_id, quotas.ACTIVE_TRAININGS, max_active)
    model.status = rules.transition(model.status, ModelStatus.InProgress)
    model.training_parameters = chosen.to_dict()
    model.training_version = model.training_version or DEFAULT_FAMILY
    model.visual_schema = dataset.visual_schema
    model.caption_prefix = dataset.caption_prefix
    model.error = None
    model.training_progress = rules.training_progress(0, chosen.total_training_steps)
    if project is not None:
        if project.training_version and project.training_version != model.training_version:
            raise Conflict(
                f"project {project.id} is locked to training_version {project.training_version!r}; "
                f"model {model.id} is {model.training_version!r}",
                field="training_version",
            )
        project.training_version = model.training_version
    job = enqueue(session, TRAIN_MODEL, TrainModel(model_id=model.id), organization_id=organization_id)
    model.job_id = job.id
    session.flush()
    return model


def parameters_for(
    model: TailoredModel, project: Any, params: dict[str, Any], images: int
) -> rules.TrainingParameters:
    """The parameters a run of ``model`` uses: expert ones validated (400 naming the field), or
    fully automated mode's recipe for the project and ``images`` (which refuses expert ones)."""
    if model.training_mode == TrainingMode.expert:
        return rules.validate_expert_parameters(params)
    if params:
        raise InvalidInput(
            "advanced training parameters are only supported when training_mode is 'expert' "
            f"(got {', '.join(sorted(params))})",
            field=sorted(params)[0],
        )
    return choose_parameters(
        project.ip_type if project else "other", project.ip_medium if project else "", images
    )


def stop_training(session: Session, organization_id: int, model_id: int, queue: JobQueue) -> TailoredModel:
    """InProgress -> Stopping; the worker stops at its next step and the model becomes Stopped."""
    model = get_model(session, organization_id, model_id)
    rules.check_can_stop(model.status)
    job_id = model.job_id
    session.commit()  # end this transaction before the queue takes its own write lock (SQLite)
    state = queue.cancel(job_id) if job_id is not None else JobState.cancelled
    session.refresh(model)
    if model.status == ModelStatus.Stopped:  # the cancelled job's failure hook settled it
        return model
    if model.status != ModelStatus.InProgress:  # finished meanwhile
        rules.check_can_stop(model.status)
    model.status = rules.transition(model.status, ModelStatus.Stopping)
    if state is None or state in TERMINAL_JOB_STATES:  # it had not started: nothing to wait for
        model.status = rules.transition(model.status, ModelStatus.Stopped)
    session.flush()
    return model


def refresh(session: Session, model: TailoredModel) -> None:
    """Settle a training model whose job ended without saying so (worker killed past its retries,
    or stopped by killing its process). The job's failure hook does this when the job ends; this
    catches what ended before the hook existed, or where it could not run."""
    if not rules.is_training(model.status) or model.job_id is None:
        return
    job = store.get_job(session, model.job_id)
    if job is not None and job.state not in TERMINAL_JOB_STATES:
        return
    settle(model, job)
    session.flush()


def training_queue(session: Session, model: TailoredModel, worker_timeout_s: float) -> dict[str, Any] | None:
    """Where a training model's job stands (queued behind what, or running); None when not training."""
    if not rules.is_training(model.status) or model.job_id is None:
        return None
    return queue_body(session, store.get_job(session, model.job_id), worker_timeout_s)


def settle(model: TailoredModel, job: Job | None) -> None:
    """Move a training model whose job ended without completing to Stopped or Failed."""
    if not rules.is_training(model.status):
        return
    if model.status == ModelStatus.Stopping:
        model.status = ModelStatus.Stopped.value
    elif job is not None and job.state == JobState.cancelled:
        model.status = rules.transition(model.status, ModelStatus.Stopping)
        model.status = rules.transition(model.status, ModelStatus.Stopped)
    else:
        model.status = ModelStatus.Failed.value
        model.error = (job.error if job is not None else None) or "training job ended without a result"


# --- checkpoints ---------------------------------------------------------------------------------


def list_checkpoints(
    session: Session, organization_id: int, model_id: int
) -> tuple[TailoredModel, list[Checkpoint]]:
    model = get_model(session, organization_id, model_id)
    return model, ckpt_store.list_checkpoints(session, model.id)


def get_checkpoint(session: Session, organization_id: int, model_id: int, step: int) -> Checkpoint:
    model = get_model(session, organization_id, model_id)
    row = ckpt_store.get_checkpoint(session, model.id, step)
    if row is None:
        raise NotFound(f"checkpoint {step} of model {model_id} not found")
    return row


def delete_checkpoint(
    session: Session, organization_id: int, model_id: int, step: int, blobs: BlobStore
) -> None:
    model = get_model(session, organization_id, model_id)
    row = ckpt_store.get_checkpoint(session, model.id, step)
    if row is None:
        raise NotFound(f"checkpoint {step} of model {model_id} not found")
    if rules.is_training(model.status):
        raise Conflict("checkpoints cannot be deleted while the model is training")
    if model.active_model_version == step:
        raise InvalidInput(
            f"cannot delete checkpoint {step}: it is the active_model_version selected for inference",
            field="checkpoint_step",
        )
    ckpt_store.delete_checkpoint(session, row)
    session.commit()
    blobs.delete_prefix(rules.checkpoint_prefix(model.blob_prefix, step))
    blobs.delete(rules.export_key(model.blob_prefix, step))


def complete_from_checkpoint(
    session: Session, organization_id: int, model_id: int, step: int | None = None
) -> TailoredModel:
    """Stopped -> Completed, serving one of the checkpoints the stopped run saved (``step``, or the
    latest). From then on the model is an ordinary Completed model: it generates, downloads and can
    switch to another of its checkpoints, for every client (Bria's included)."""
    model = get_model(session, organization_id, model_id)
    if model.status != ModelStatus.Stopped:
        raise Conflict(
            f"only a Stopped model can be completed from a checkpoint (model {model_id} is {model.status})"
        )
    step = stopped_checkpoint(session, model, step)
    model.status = rules.transition(model.status, ModelStatus.Completed)
    model.active_model_version = step
    session.flush()
    return model


def stopped_checkpoint(session: Session, model: TailoredModel, step: int | None) -> int:
    """``step`` checked to be a checkpoint of ``model`` with an adapter, or its latest such one;
    412 when the run saved none."""
    rows = [r for r in ckpt_store.list_checkpoints(session, model.id) if r.adapter_key]
    if not rows:
        raise PreconditionFailed(
            f"model {model.id} was stopped before it saved a checkpoint: there is nothing to serve or "
            "download; create a new model on the same dataset to train again",
            field="checkpoint_step",
        )
    if step is None:
        return rows[0].checkpoint_step  # latest first
    if all(r.checkpoint_step != step for r in rows):
        steps = ", ".join(str(r.checkpoint_step) for r in rows)
        raise InvalidInput(
            f"model {model.id} has no checkpoint at step {step} (available: {steps})", field="checkpoint_step"
        )
    return step


# --- download ------------------------------------------------------------------------------------


def download_name(model: TailoredModel, step: int | None = None) -> str:
    """The file name a download is saved as: ``<model name>-<step N|final>.zip``, file-name safe."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", model.name or "").strip("-.")[:60] or f"model-{model.id}"
    if step is None:
        step = model.active_model_version
    version = f"step{step}" if step is not None else "final"
    return f"{stem}-{version}.zip"


def download_step(session: Session, model: TailoredModel, step: int | None) -> int | None:
    """The checkpoint a download packages: ``step`` when given (any checkpoint of a Completed or
    Stopped model), else the served version; a Stopped model's latest checkpoint by default."""
    if model.status == ModelStatus.Stopped:
        return stopped_checkpoint(session, model, step)
    if model.status != ModelStatus.Completed:
        raise InvalidInput(
            f"model {model.id} can be downloaded once training is Completed, or Stopped with a "
            f"checkpoint (status is {model.status})",
            field="model_id",
        )
    if step is None:
        return model.active_model_version
    row = ckpt_store.get_checkpoint(session, model.id, step)
    if row is None or not row.adapter_key:
        steps = ", ".join(str(s) for s in ckpt_store.checkpoint_steps(session, model.id)) or "none"
        raise InvalidInput(
            f"model {model.id} has no checkpoint at step {step} (available: {steps})", field="checkpoint_step"
        )
    return step


def download(
    session: Session,
    organization_id: int,
    model_id: int,
    blobs: BlobStore,
    export: ExportFn,
    *,
    base_model: str,
    step: int | None = None,
) -> tuple[str, int | None]:
    """The blob key of a zip with an adapter (diffusers LoRA format) and a model card, and the
    checkpoint step it holds (None: the final weights): the served adapter, or checkpoint ``step``."""
    model = get_model(session, organization_id, model_id)
    step = download_step(session, model, step)
    if step is not None:
        row = ckpt_store.get_checkpoint(session, model.id, step)
        adapter_key = row.adapter_key if row is not None else None
    else:
        adapter = ckpt_store.serving_adapter(session, model)
        adapter_key = adapter.key if adapter is not None else None
    if adapter_key is None or not blobs.exists(adapter_key):
        raise NotFound(f"model {model_id} has no adapter file")
    key = rules.export_key(model.blob_prefix, step)
    if not blobs.exists(key):
        images = store.count_images(session, model.dataset_id)[0] if model.dataset_id is not None else 0
        project = store.get_project(session, organization_id, model.project_id)
        rank = (model.training_parameters or {}).get("rank")
        card = rules.model_card_for(
            model, project, images_count=images, base_model=base_model, step=step, rank=rank
        )
        export(blobs, adapter_key, key, card)
    return key, step
