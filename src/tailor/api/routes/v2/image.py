"""``POST /v2/image/generate/tailored`` (a tailored model) and ``/v2/image/generate`` (the base model)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from tailor.api.deps import BaseUrl, CurrentOrg, RuntimeDep, SessionDep
from tailor.api.routes.v2.protocol import answer
from tailor.api.schemas.v2_image import ImageGenerateRequest, TailoredImageRequest
from tailor.domain.jobs import GenerateImage
from tailor.services import generation

router = APIRouter(prefix="/v2", tags=["Image Generation"])

RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "sync=true: `{result: {image_url, seed, structured_prompt}, request_id}`"},
    202: {"description": "sync=false (or the wait ran out): `{request_id, status_url}`"},
    400: {"description": "A parameter breaks a rule; the message names it."},
    404: {"description": "Unknown tailored model."},
    412: {"description": "The tailored model is not Completed, or not trained on a served family."},
}


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
    payload = GenerateImage(
        model_id=model_id,
        prompt=body.prompt,
        structured_prompt=body.structured_prompt,
        negative_prompt=body.negative_prompt,
        aspect_ratio=body.aspect_ratio.value,
        seed=generation.new_seed(body.seed),
        influence=body.tailored_model_influence,
        checkpoint_step=body.checkpoint_step,
        moderate_output=body.visual_output_content_moderation,
    )
    req = await run_in_threadpool(
        generation.submit_image, rt, session, principal, payload,
        endpoint="/v2/image/generate/tailored", images=[], webhook_url=body.webhook_url,
        moderate_prompt=body.prompt_content_moderation,
        steps_num=body.steps_num, guidance_scale=body.guidance_scale,
    )  # fmt: skip
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
    payload = GenerateImage(
        prompt=body.prompt,
        structured_prompt=body.structured_prompt,
        negative_prompt=body.negative_prompt,
        guidance_scale=body.guidance_scale,
        aspect_ratio=body.aspect_ratio.value,
        steps_num=body.steps_num,
        seed=generation.new_seed(body.seed),
        output_type=body.output_type,
        moderate_input=body.visual_input_content_moderation,
        moderate_output=body.visual_output_content_moderation,
    )
    req = await run_in_threadpool(
        generation.submit_image, rt, session, principal, payload,
        endpoint="/v2/image/generate", images=body.images or [], webhook_url=body.webhook_url,
        moderate_prompt=body.prompt_content_moderation,
    )  # fmt: skip
    return await answer(rt, base_url, req, body.sync)
