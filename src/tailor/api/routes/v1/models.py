"""``/v1/tailored-gen/models``: models, training, checkpoints and downloads."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from anyio import to_thread
from fastapi import APIRouter, Body, Query, Request, Response
from fastapi.responses import StreamingResponse

from tailor.api.deps import BaseUrl, CurrentOrg, RuntimeDep, SessionDep
from tailor.api.links import Signer
from tailor.api.schemas.common import Id
from tailor.api.schemas.v1_models import (
    START_TRAINING_DOC,
    CompleteFromCheckpoint,
    ModelCreate,
    ModelUpdate,
    UploadModelRequest,
    render_checkpoint,
    render_evaluation,
    render_model,
    render_progress,
)
from tailor.api.sse import SSE_HEADERS, poll_events
from tailor.bootstrap import Runtime, training_installation
from tailor.domain import models as rules
from tailor.domain.errors import InvalidInput, NotFound
from tailor.domain.models import BASE_MODEL_CARD, BASE_MODEL_NAME, render_version
from tailor.domain.signing import LinkSigner
from tailor.services import evaluation
from tailor.services import model_upload as upload_svc
from tailor.services import models as svc
from tailor.services import training_estimate as estimate_svc
from tailor.store import checkpoints as ckpt_store
from tailor.store import models as model_store
from tailor.store.db import read_session

router = APIRouter(prefix="/v1/tailored-gen", tags=["Models"])


def _one(signer: LinkSigner, session: SessionDep, base_url: str, model: Any) -> dict[str, Any]:
    steps = ckpt_store.checkpoint_steps(session, model.id)
    return render_model(model, steps, base_url=base_url, signer=signer)


def _many(
    signer: LinkSigner, session: SessionDep, base_url: str, models: list[Any], include: bool
) -> list[dict[str, Any]]:
    steps = ckpt_store.steps_by_model(session, [m.id for m in models]) if include else {}
    return [
        render_model(m, steps.get(m.id, []), base_url=base_url, signer=signer, include_training=include)
        for m in models
    ]


@router.post("/models", status_code=201, summary="Create a model")
def create_model(
    body: ModelCreate, rt: RuntimeDep, session: SessionDep, org: CurrentOrg, base_url: BaseUrl, signer: Signer
) -> dict[str, Any]:
    model = svc.create_model(
        session,
        org.organization_id,
        name=body.name,
        dataset_id=body.dataset_id,
        training_mode=body.training_mode.value,
        description=body.description,
        custom_metadata=body.custom_metadata,
        training_version=body.training_version,
    )
    return _one(signer, session, base_url, model)


@router.post(
    "/models/upload_model",
    summary="Upload a LoRA trained elsewhere (status Syncing, then Completed or Failed)",
    responses={
        415: {"description": "model_url does not name a .safetensors file"},
        422: {"description": "model_url is not a public http(s) URL"},
    },
)
def upload_model(
    body: UploadModelRequest,
    rt: RuntimeDep,
    session: SessionDep,
    org: CurrentOrg,
    base_url: BaseUrl,
    signer: Signer,
) -> dict[str, Any]:
    params = body.project_parameters.model_dump(mode="json") if body.project_parameters else None
    model = upload_svc.start_upload(
        session, org.organization_id, model_url=body.model_url, model_name=body.model_name,
        project_id=body.project_id, project_parameters=params, description=body.description,
        custom_metadata=body.custom_metadata, allow_private_urls=rt.settings.allow_private_urls,
    )  # fmt: skip
    return _one(signer, session, base_url, model)


@router.get("/models", summary="List models")
def list_models(
    rt: RuntimeDep,
    session: SessionDep,
    org: CurrentOrg,
    base_url: BaseUrl,
    signer: Signer,
    include_training_parameters: bool = Query(False),
) -> list[dict[str, Any]]:
    models = svc.list_models(session, org.organization_id)
    return _many(signer, session, base_url, models, include_training_parameters)


@router.get("/projects/{project_id}/models", summary="List a project's models")
def list_project_models(
    project_id: Id,
    rt: RuntimeDep,
    session: SessionDep,
    org: CurrentOrg,
    base_url: BaseUrl,
    signer: Signer,
    include_training_parameters: bool = Query(False),
) -> list[dict[str, Any]]:
    models = svc.list_models(session, org.organization_id, project_id=project_id)
    return _many(signer, session, base_url, models, include_training_parameters)


@router.get("/models/{model_id}", summary="Get a model")
def get_model(
    model_id: Id, rt: RuntimeDep, session: SessionDep, org: CurrentOrg, base_url: BaseUrl, signer: Signer
) -> dict[str, Any]:
    model = svc.get_model(session, org.organization_id, model_id, include_deleted=True)
    body = _one(signer, session, base_url, model)
    queue = svc.training_queue(session, model, rt.settings.heartbeat_timeout_s)
    if queue is not None:
        body["queue"] = queue
    return body


@router.put("/models/{model_id}", summary="Update a model (name, description, active version)")
def update_model(
    model_id: Id,
    body: ModelUpdate,
    rt: RuntimeDep,
    session: SessionDep,
    org: CurrentOrg,
    base_url: BaseUrl,
    signer: Signer,
) -> dict[str, Any]:
    model = svc.update_model(
        session,
        org.organization_id,
        model_id,
        name=body.name,
        description=body.description,
        active_model_version=body.active_model_version,
        custom_metadata=body.custom_metadata,
    )
    return _one(signer, session, base_url, model)


@router.delete("/models/{model_id}", status_code=204, summary="Delete a model")
def delete_model(model_id: Id, rt: RuntimeDep, session: SessionDep, org: CurrentOrg) -> Response:
    svc.delete_model(session, org.organization_id, model_id, rt.blobs)
    return Response(status_code=204)


@router.post(
    "/models/{model_id}/start_training",
    summary="Start training (expert mode may set the parameters)",
    openapi_extra=START_TRAINING_DOC,
)
def start_training(
    model_id: Id,
    rt: RuntimeDep,
    session: SessionDep,
    org: CurrentOrg,
    base_url: BaseUrl,
    signer: Signer,
    body: Annotated[Any, Body()] = None,
) -> dict[str, Any]:
    if body is not None and not isinstance(body, dict):
        raise InvalidInput("the body must be a JSON object of training parameters", field="body")
    model = svc.start_training(
        session, org.organization_id, model_id, body, max_active=rt.settings.org_max_active_trainings
    )
    return _one(signer, session, base_url, model)


@router.get(
    "/models/{model_id}/training_estimate",
    summary="Tailor: expected duration, steps and checkpoint disk of a training run, before it starts",
)
def training_estimate(
    model_id: Id,
    rt: RuntimeDep,
    session: SessionDep,
    org: CurrentOrg,
    lr_scheduler: str | None = Query(None, description="as start_training (expert models)"),
    learning_rate: float | None = Query(None, description="as start_training (expert models)"),
    total_training_steps: int | None = Query(None, description="as start_training (expert models)"),
    rank: int | None = Query(None, description="as start_training (expert models)"),
    checkpoint_interval: int | None = Query(None, description="as start_training (expert models)"),
    lr_warmup_steps: int | None = Query(None, description="as start_training (expert models)"),
) -> dict[str, Any]:
    """The run's steps and checkpoints for these parameters (checked as ``start_training`` checks
    them), its expected seconds and disk bytes, and the basis: the median of this installation's
    latest measured runs of the same family, weights, device and rank, or a stated benchmark figure."""
    params = {
        "lr_scheduler": lr_scheduler,
        "learning_rate": learning_rate,
        "total_training_steps": total_training_steps,
        "rank": rank,
        "checkpoint_interval": checkpoint_interval,
        "lr_warmup_steps": lr_warmup_steps,
    }
    return estimate_svc.training_estimate(
        session, org.organization_id, model_id, params, partial(training_installation, rt.settings)
    )


@router.post("/models/{model_id}/stop_training", summary="Stop training")
def stop_training(
    model_id: Id, rt: RuntimeDep, session: SessionDep, org: CurrentOrg, base_url: BaseUrl, signer: Signer
) -> dict[str, Any]:
    model = svc.stop_training(session, org.organization_id, model_id, rt.queue)
    return _one(signer, session, base_url, model)


@router.get("/models/{model_id}/checkpoints", summary="List checkpoints")
def list_checkpoints(
    model_id: Id, rt: RuntimeDep, session: SessionDep, org: CurrentOrg, base_url: BaseUrl, signer: Signer
) -> dict[str, Any]:
    model, rows = svc.list_checkpoints(session, org.organization_id, model_id)
    return {
        "checkpoints": [render_checkpoint(r, base_url=base_url, signer=signer) for r in rows],
        "active_model_version": render_version(model.active_model_version),
    }


@router.get("/models/{model_id}/checkpoints/{checkpoint_step}", summary="Get a checkpoint")
def get_checkpoint(
    model_id: Id,
    checkpoint_step: Id,
    rt: RuntimeDep,
    session: SessionDep,
    org: CurrentOrg,
    base_url: BaseUrl,
    signer: Signer,
) -> dict[str, Any]:
    row = svc.get_checkpoint(session, org.organization_id, model_id, checkpoint_step)
    return render_checkpoint(row, base_url=base_url, signer=signer)


@router.delete(
    "/models/{model_id}/checkpoints/{checkpoint_step}", status_code=204, summary="Delete a checkpoint"
)
def delete_checkpoint(
    model_id: Id, checkpoint_step: Id, rt: RuntimeDep, session: SessionDep, org: CurrentOrg
) -> Response:
    svc.delete_checkpoint(session, org.organization_id, model_id, checkpoint_step, rt.blobs)
    return Response(status_code=204)


@router.get(
    "/models/{model_id}/download",
    summary="Download the trained adapter (Tailor: any checkpoint, also of a Stopped model)",
    responses={
        400: {"description": "The model is not Completed or Stopped, or has no such checkpoint."},
        412: {"description": "A Stopped model that saved no checkpoint: nothing to download."},
    },
)
def download_model(
    model_id: Id,
    rt: RuntimeDep,
    session: SessionDep,
    org: CurrentOrg,
    base_url: BaseUrl,
    signer: Signer,
    checkpoint_step: Annotated[
        int | None,
        Query(
            ge=1,
            le=2**31 - 1,
            description="Tailor: the checkpoint to package (default: the served version; a Stopped "
            "model's latest checkpoint).",
        ),
    ] = None,
) -> dict[str, Any]:
    from tailor.engine.training.export import write_export_zip  # no ML import: safetensors + numpy

    key, step = svc.download(
        session,
        org.organization_id,
        model_id,
        rt.blobs,
        write_export_zip,
        base_model=rt.settings.base_model,
        step=checkpoint_step,
    )
    model = svc.get_model(session, org.organization_id, model_id)
    return {
        "download_url": f"{base_url}{signer.path(key)}&name={svc.download_name(model, step)}",
        "base_model_name": BASE_MODEL_NAME,
        "base_model_card": BASE_MODEL_CARD,
        "base_model_weights": rt.settings.base_model,  # Tailor: which weights the adapter was trained on
        "checkpoint_step": step,  # Tailor: the checkpoint packaged (null: the final weights)
    }


@router.post(
    "/models/{model_id}/complete_from_checkpoint",
    summary="Tailor: complete a Stopped model from one of its checkpoints (then it serves it)",
    responses={
        400: {"description": "No checkpoint at that step (the message lists the available ones)."},
        409: {"description": "The model is not Stopped."},
        412: {"description": "The model was stopped before it saved a checkpoint."},
    },
)
def complete_from_checkpoint(
    model_id: Id,
    rt: RuntimeDep,
    session: SessionDep,
    org: CurrentOrg,
    base_url: BaseUrl,
    signer: Signer,
    body: CompleteFromCheckpoint | None = None,
) -> dict[str, Any]:
    step = body.checkpoint_step if body is not None else None
    model = svc.complete_from_checkpoint(session, org.organization_id, model_id, step)
    return _one(signer, session, base_url, model)


def _training_snapshot(
    rt: Runtime, organization_id: int, model_id: int, base_url: str, signer: LinkSigner
) -> dict[str, Any]:
    with read_session(rt.engine) as s:
        model = model_store.get_model(s, organization_id, model_id)
        if model is None:
            raise NotFound(f"model {model_id} not found")
        return {
            "id": model.id,
            "status": model.status,
            "training_progress": render_progress(model.training_progress, base_url, signer),
            "error": model.error,
        }


@router.get(
    "/models/{model_id}/events",
    summary="Server-sent events of a model's training",
    response_class=StreamingResponse,
    response_model=None,
    responses={200: {"content": {"text/event-stream": {}}}, 404: {"description": "Unknown model"}},
)
async def training_events(
    model_id: Id, request: Request, rt: RuntimeDep, org: CurrentOrg, base_url: BaseUrl, signer: Signer
) -> StreamingResponse:
    """A ``training`` event whenever the status or progress changes; ends when training is over."""
    args = (rt, org.organization_id, model_id, base_url, signer)
    await to_thread.run_sync(_training_snapshot, *args)  # 404 before the stream starts

    async def snapshot() -> tuple[dict[str, Any], bool]:
        body = await to_thread.run_sync(_training_snapshot, *args)
        return body, not rules.is_training(body["status"])

    events = poll_events(snapshot, event="training", interval_s=1.0, is_disconnected=request.is_disconnected)
    return StreamingResponse(events, media_type="text/event-stream", headers=SSE_HEADERS)


@router.get(
    "/models/{model_id}/evaluation",
    summary="Tailor: scores of every checkpoint (DINO, CLIP-I, CLIP-T, memorisation) and the best one",
)
def model_evaluation(
    model_id: Id, session: SessionDep, org: CurrentOrg, base_url: BaseUrl, signer: Signer
) -> dict[str, Any]:
    view = evaluation.model_evaluation(session, org.organization_id, model_id)
    return render_evaluation(view, base_url=base_url, signer=signer)
