"""``POST /v2/structured_prompt/generate``: a structured prompt on the base model (no adapter)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from tailor.api.deps import BaseUrl, CurrentOrg, RuntimeDep, SessionDep
from tailor.api.routes.v2.protocol import answer
from tailor.domain.jobs import SEED_MAX, StructuredPrompt
from tailor.services import generation

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


def _text(value: str | None) -> str | None:
    """A text field, or None when it is missing or blank."""
    return value.strip() if value and value.strip() else None


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
