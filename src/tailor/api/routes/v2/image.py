"""``POST /v2/image/generate/tailored`` (a tailored model) and ``/v2/image/generate`` (the base model)."""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from tailor.api.deps import BaseUrl, CurrentOrg, RuntimeDep, SessionDep
from tailor.api.routes.v2.protocol import answer
from tailor.api.schemas.v2_image import ImageGenerateRequest, TailoredImageRequest
from tailor.domain.enums import ModelStatus
from tailor.domain.errors import NotFound, PreconditionFailed
from tailor.domain.jobs import GENERATE_IMAGE, SEED_MAX, GenerateImage
from tailor.services.reference_images import store_reference_images
from tailor.services.requests import create_request
from tailor.store import checkpoints as checkpoint_store
from tailor.store import models as model_store

router = APIRouter(prefix="/v2", tags=["Image Generation"])

FIBO_VERSION = "fibo"

RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "sync=true: `{result: {image_url, seed, structured_prompt}, request_id}`"},
    202: {"description": "sync=false (or the wait ran out): `{request_id, status_url}`"},
    400: {"description": "A parameter breaks a rule; the message names it."},
    404: {"description": "Unknown tailored model."},
    412: {"description": "The tailored model is not Completed, or not trained on FIBO."},
}


def _check_model(session: Session, organization_id: int, model_id: int) -> None:
    """The model must exist, be Completed, be FIBO-trained and have an adapter."""
    field = "tailored_model_id"
    model = model_store.get_model(session, organization_id, model_id)
    if model is None:
        raise NotFound(f"tailored model {model_id} not found", field=field)
    if model.status != ModelStatus.Completed:
        raise PreconditionFailed(
            f"tailored model {model_id} is {model.status}; only Completed models can generate",
            field=field,
        )
    if (model.training_version or "") != FIBO_VERSION:
        raise PreconditionFailed(
            f"tailored model {model_id} was not trained on FIBO (training_version="
            f"{model.training_version!r}); use /v1/text-to-image/tailored/{model_id}",
            field=field,
        )
    if checkpoint_store.serving_adapter(session, model) is None:
        raise PreconditionFailed(f"tailored model {model_id} has no trained adapter", field=field)


def _valid_structured_prompt(text: str | None) -> str | None:
    if text is None:
        return None
    from tailor.bridge.prompts import validate_structured_prompt

    return validate_structured_prompt(text, field="structured_prompt")


def _seed(seed: int | None) -> int:
    return seed if seed is not None else secrets.randbelow(SEED_MAX + 1)


@router.post(
    "/image/generate/tailored", summary="Generate an image with a tailored model", responses=RESPONSES
)
async def generate_tailored(
    body: TailoredImageRequest,
    rt: RuntimeDep,
    session: SessionDep,
    principal: CurrentOrg,
    base_url: BaseUrl,
) -> JSONResponse:
    """prompt: new image; structured_prompt (+ seed): recreate; both: refine."""
    model_id = body.model_id()
    body.check_inputs()
    structured = _valid_structured_prompt(body.structured_prompt)
    _check_model(session, principal.organization_id, model_id)
    payload = GenerateImage(
        model_id=model_id,
        prompt=body.prompt,
        structured_prompt=structured,
        negative_prompt=body.negative_prompt,
        guidance_scale=body.guidance_scale,
        aspect_ratio=body.aspect_ratio.value,
        steps_num=body.steps_num,
        seed=_seed(body.seed),
        influence=body.tailored_model_influence,
    )
    # in a thread: the organization's quota check may wait for another request's transaction
    req = await run_in_threadpool(
        create_request,
        session,
        principal,
        endpoint="/v2/image/generate/tailored",
        kind=GENERATE_IMAGE,
        payload=payload,
        webhook_url=body.webhook_url,
        allow_private_urls=rt.settings.allow_private_urls,
        max_active=rt.settings.org_max_active_jobs,
    )
    return await answer(rt, base_url, req, body.sync)


@router.post("/image/generate", summary="Generate an image with the base model", responses=RESPONSES)
async def generate_base(
    body: ImageGenerateRequest,
    rt: RuntimeDep,
    session: SessionDep,
    principal: CurrentOrg,
    base_url: BaseUrl,
) -> JSONResponse:
    """prompt | images | images + prompt | structured_prompt (+ seed) | structured_prompt + prompt."""
    body.check_inputs()
    structured = _valid_structured_prompt(body.structured_prompt)
    images = store_reference_images(rt, principal.organization_id, body.images or [])
    payload = GenerateImage(
        prompt=body.prompt,
        structured_prompt=structured,
        image_keys=images.keys,
        image_urls=images.urls,
        negative_prompt=body.negative_prompt,
        guidance_scale=body.guidance_scale,
        aspect_ratio=body.aspect_ratio.value,
        steps_num=body.steps_num,
        seed=_seed(body.seed),
        output_type=body.output_type,
    )
    # in a thread: the organization's quota check may wait for another request's transaction
    req = await run_in_threadpool(
        create_request,
        session,
        principal,
        endpoint="/v2/image/generate",
        kind=GENERATE_IMAGE,
        payload=payload,
        webhook_url=body.webhook_url,
        allow_private_urls=rt.settings.allow_private_urls,
        max_active=rt.settings.org_max_active_jobs,
    )
    return await answer(rt, base_url, req, body.sync)
