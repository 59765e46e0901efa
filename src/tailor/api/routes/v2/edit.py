"""``POST /v2/image/edit`` (the base model, Bria's fields) and ``/v2/image/edit/tailored``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from tailor.api.deps import BaseUrl, CurrentOrg, RuntimeDep, SessionDep
from tailor.api.routes.v2.protocol import answer
from tailor.api.schemas.v2_edit import ImageEditRequest, TailoredImageEditRequest
from tailor.services import editing
from tailor.services.generation import new_seed

router = APIRouter(prefix="/v2", tags=["Image Editing"])

RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "sync=true: `{result: {image_url, seed, structured_prompt}, request_id}`"},
    202: {"description": "sync=false (or the wait ran out): `{request_id, status_url}`"},
    400: {"description": "A parameter breaks a rule; the message names it."},
    404: {"description": "Unknown tailored model."},
    412: {"description": "The tailored model is not Completed, or its family does not edit."},
    415: {"description": "An image or the mask is not a readable JPEG, PNG or WEBP."},
}


def _request(body: ImageEditRequest | TailoredImageEditRequest, model_id: int | None) -> editing.EditRequest:
    return editing.EditRequest(
        images=list(body.images),
        instruction=body.instruction,
        structured_instruction=body.structured_instruction,
        mask=body.mask,
        negative_prompt=body.negative_prompt,
        guidance_scale=body.guidance_scale,
        steps_num=body.steps_num,
        seed=new_seed(body.seed),
        model_id=model_id,
        influence=getattr(body, "tailored_model_influence", 1.0),
    )


@router.post("/image/edit", summary="Edit an image with the base model", responses=RESPONSES)
async def edit_base(
    body: ImageEditRequest, rt: RuntimeDep, session: SessionDep, principal: CurrentOrg, base_url: BaseUrl
) -> JSONResponse:
    """An instruction (or a structured instruction) applied to one image, optionally in a mask."""
    req = await run_in_threadpool(
        editing.submit_edit, rt, session, principal, _request(body, None),
        endpoint="/v2/image/edit", webhook_url=body.webhook_url,
    )  # fmt: skip
    return await answer(rt, base_url, req, body.sync)


@router.post("/image/edit/tailored", summary="Edit images with a tailored model", responses=RESPONSES)
async def edit_tailored(
    body: TailoredImageEditRequest,
    rt: RuntimeDep,
    session: SessionDep,
    principal: CurrentOrg,
    base_url: BaseUrl,
) -> JSONResponse:
    """Tailor's extension: a FIBO 2 tailored model edits up to 5 images ("put <image_2> in <image_1>")."""
    req = await run_in_threadpool(
        editing.submit_edit, rt, session, principal, _request(body, body.tailored_model_id),
        endpoint="/v2/image/edit/tailored", webhook_url=body.webhook_url,
    )  # fmt: skip
    return await answer(rt, base_url, req, body.sync)
