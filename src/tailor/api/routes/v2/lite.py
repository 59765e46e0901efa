"""``/v2/image/generate/lite``, ``/v2/structured_prompt/generate/lite`` and
``/v2/structured_prompt/generate_from_diff``.

Lite is served by the same FIBO engine and VLM bridge as the full endpoints, with fewer denoising
steps (``TAILOR_LITE_STEPS_NUM``): faster, at some cost in detail. There is no distilled model here.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from tailor.api.deps import BaseUrl, CurrentOrg, RuntimeDep, SessionDep
from tailor.api.routes.v2.image import RESPONSES
from tailor.api.routes.v2.protocol import answer
from tailor.api.routes.v2.structured_prompt import StructuredPromptGenerate, _text
from tailor.api.schemas.v2_lite import LiteImageRequest, StructuredPromptDiffRequest
from tailor.domain.jobs import GenerateImage, StructuredPrompt, StructuredPromptDiff
from tailor.services import generation, prompt_diff

router = APIRouter(prefix="/v2", tags=["Generation"])

SP_RESPONSES: dict[int | str, dict[str, str]] = {
    200: {"description": "sync=true: `{result: {structured_prompt, seed}, request_id}`"},
    202: {"description": "sync=false (or the wait ran out): `{request_id, status_url}`"},
    400: {"description": "A parameter breaks a rule; the message names it."},
}


@router.post(
    "/image/generate/lite",
    summary="Generate an image, lite (the same engine with fewer steps)",
    responses=RESPONSES,
)
async def generate_lite(
    body: LiteImageRequest, rt: RuntimeDep, session: SessionDep, principal: CurrentOrg, base_url: BaseUrl
) -> JSONResponse:
    body.check_inputs()
    payload = GenerateImage(
        prompt=body.prompt,
        structured_prompt=body.structured_prompt,
        negative_prompt=body.negative_prompt,
        aspect_ratio=body.aspect_ratio.value,
        steps_num=rt.settings.lite_steps_num,
        seed=generation.new_seed(body.seed),
        output_type=body.output_type,
        moderate_input=body.visual_input_content_moderation,
        moderate_output=body.visual_output_content_moderation,
    )
    req = await run_in_threadpool(
        generation.submit_image, rt, session, principal, payload,
        endpoint="/v2/image/generate/lite", images=body.images or [], webhook_url=body.webhook_url,
        moderate_prompt=body.prompt_content_moderation,
    )  # fmt: skip
    return await answer(rt, base_url, req, body.sync)


@router.post(
    "/structured_prompt/generate/lite",
    summary="Generate a structured prompt, lite (the same VLM bridge)",
    responses=SP_RESPONSES,
)
async def structured_prompt_lite(
    body: StructuredPromptGenerate,
    rt: RuntimeDep,
    session: SessionDep,
    principal: CurrentOrg,
    base_url: BaseUrl,
) -> JSONResponse:
    payload = StructuredPrompt(
        prompt=_text(body.prompt),
        structured_prompt=body.structured_prompt if _text(body.structured_prompt) else None,
        seed=generation.new_seed(body.seed),
    )
    req = await run_in_threadpool(
        generation.submit_structured_prompt, rt, session, principal, payload,
        images=body.images or [], webhook_url=body.webhook_url,
    )  # fmt: skip
    return await answer(rt, base_url, req, body.sync)


@router.post(
    "/structured_prompt/generate_from_diff",
    summary="A structured prompt that keeps a user's edits of another and agrees with them",
    responses=SP_RESPONSES,
)
async def generate_from_diff(
    body: StructuredPromptDiffRequest,
    rt: RuntimeDep,
    session: SessionDep,
    principal: CurrentOrg,
    base_url: BaseUrl,
) -> JSONResponse:
    payload = StructuredPromptDiff(
        seed=generation.new_seed(body.seed),
        structured_prompt=body.structured_prompt,
        user_adjusted_structured_prompt=body.user_adjusted_structured_prompt,
    )
    req = await run_in_threadpool(
        prompt_diff.submit, rt, session, principal, payload, webhook_url=body.webhook_url
    )
    return await answer(rt, base_url, req, body.sync)
