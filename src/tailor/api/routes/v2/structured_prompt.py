"""``POST /v2/structured_prompt/generate``: a structured prompt on the base model (no adapter)."""

from __future__ import annotations

import secrets

from anyio import to_thread
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from tailor.api.deps import BaseUrl, CurrentOrg, RuntimeDep, SessionDep
from tailor.api.routes.v2.protocol import answer
from tailor.bootstrap import Runtime
from tailor.domain.errors import InvalidInput
from tailor.domain.jobs import SEED_MAX, STRUCTURED_PROMPT, StructuredPrompt
from tailor.services.reference_images import store_reference_images
from tailor.services.requests import create_request
from tailor.store.orgs import Principal
from tailor.store.tables import GenerationRequest

router = APIRouter(prefix="/v2", tags=["Generation"])

MAX_PROMPT_CHARS = 10_000


class StructuredPromptGenerate(BaseModel):
    """Body of ``/v2/structured_prompt/generate`` (Bria's field names)."""

    model_config = ConfigDict(extra="ignore")

    prompt: str | None = Field(None, max_length=MAX_PROMPT_CHARS, description="Text instruction.")
    images: list[str] | None = Field(
        None, max_length=1, description="One image: a public URL or base64 (JPEG, PNG, WEBP)."
    )
    structured_prompt: str | None = Field(None, description="A structured prompt (JSON) to refine.")
    seed: int | None = Field(None, ge=0, le=SEED_MAX, description="Random when omitted.")
    sync: bool = Field(False, description="true: wait and answer 200; false: 202 with status_url.")
    webhook_url: str | None = Field(None, description="Receives the terminal status, signed.")
    ip_signal: bool = False
    prompt_content_moderation: bool = True
    visual_input_content_moderation: bool = True


class AcceptedResponse(BaseModel):
    request_id: str
    status_url: str


def _check_combination(body: StructuredPromptGenerate) -> None:
    has_prompt = bool(body.prompt and body.prompt.strip())
    has_images = bool(body.images)
    has_sp = bool(body.structured_prompt and body.structured_prompt.strip())
    if has_sp and has_images:
        raise InvalidInput("give either structured_prompt or images, not both", field="structured_prompt")
    if has_sp and not has_prompt:
        raise InvalidInput("a structured_prompt is refined by a prompt: give prompt as well", field="prompt")
    if not (has_prompt or has_images):
        raise InvalidInput("give prompt, images, or both", field="prompt")


@router.post(
    "/structured_prompt/generate",
    summary="Generate a structured prompt (base model)",
    status_code=202,
    response_model=AcceptedResponse,
    responses={200: {"description": "sync=true: `{result: {structured_prompt, seed}, request_id}`"}},
)
async def generate_structured_prompt(
    body: StructuredPromptGenerate,
    rt: RuntimeDep,
    session: SessionDep,
    principal: CurrentOrg,
    base_url: BaseUrl,
) -> JSONResponse:
    """Text, an image, or a structured prompt plus an instruction -> a structured prompt (JSON string)."""
    req = await to_thread.run_sync(_create, body, rt, session, principal)
    return await answer(rt, base_url, req, body.sync)


def _create(
    body: StructuredPromptGenerate, rt: Runtime, session: Session, principal: Principal
) -> GenerationRequest:
    """Check the body, keep inline images as blobs, and add the request with its job."""
    _check_combination(body)
    if body.structured_prompt:
        from tailor.bridge.prompts import validate_structured_prompt

        validate_structured_prompt(body.structured_prompt, field="structured_prompt")
    images = store_reference_images(rt, principal.organization_id, body.images or [])
    try:
        return create_request(
            session,
            principal,
            endpoint="/v2/structured_prompt/generate",
            kind=STRUCTURED_PROMPT,
            payload=StructuredPrompt(
                prompt=body.prompt.strip() if body.prompt else None,
                structured_prompt=body.structured_prompt,
                seed=body.seed if body.seed is not None else secrets.randbelow(SEED_MAX + 1),
                image_keys=images.keys,
                image_urls=images.urls,
            ),
            webhook_url=body.webhook_url,
            allow_private_urls=rt.settings.allow_private_urls,
            max_active=rt.settings.org_max_active_jobs,
        )
    except BaseException:
        for key in images.keys:
            rt.blobs.delete(key)
        raise
