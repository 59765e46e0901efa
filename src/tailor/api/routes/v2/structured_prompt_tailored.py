"""``POST /v2/structured_prompt/generate/tailored``: a structured prompt in a tailored model's visual
schema (its IP fields kept), without generating an image. A v2 request: 202, or 200 with ``sync``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.concurrency import run_in_threadpool

from tailor.api.deps import BaseUrl, CurrentOrg, RuntimeDep, SessionDep
from tailor.api.routes.v2.protocol import answer
from tailor.api.schemas.common import IdText
from tailor.domain.jobs import SEED_MAX, TailoredStructuredPrompt
from tailor.services import generation

router = APIRouter(prefix="/v2", tags=["Image Generation"])


class TailoredStructuredPromptRequest(BaseModel):
    """Text only (``prompt``), or ``structured_prompt`` + ``prompt`` (refinement)."""

    model_config = ConfigDict(extra="ignore")

    tailored_model_id: IdText = Field(description="The id of the tailored model (a string).")
    prompt: str | None = Field(None, max_length=10_000, description="Text instruction.")
    structured_prompt: str | None = Field(None, description="A structured prompt (JSON string) to refine.")
    seed: int | None = Field(None, ge=0, le=SEED_MAX, description="Random when omitted.")
    sync: bool = Field(False, description="true: wait and answer 200; false: 202 with status_url.")
    webhook_url: str | None = Field(None, description="Called with the status body when the request ends.")
    prompt_content_moderation: bool = Field(True, description="Accepted; Tailor runs no moderation model.")

    @field_validator("prompt", "structured_prompt", "webhook_url")
    @classmethod
    def _blank_to_none(cls, v: str | None) -> str | None:
        return v if v is None or v.strip() else None


RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "sync=true: `{result: {structured_prompt, seed}, request_id}`"},
    202: {"description": "sync=false (or the wait ran out): `{request_id, status_url}`"},
    400: {"description": "A parameter breaks a rule; the message names it."},
    404: {"description": "Unknown tailored model."},
    412: {"description": "The tailored model is not Completed, or not trained on FIBO."},
}


@router.post(
    "/structured_prompt/generate/tailored",
    summary="Generate a structured prompt with a tailored model's visual schema",
    responses=RESPONSES,
)
async def generate_tailored_structured_prompt(
    body: TailoredStructuredPromptRequest,
    rt: RuntimeDep,
    session: SessionDep,
    principal: CurrentOrg,
    base_url: BaseUrl,
) -> JSONResponse:
    """prompt: a new structured prompt; structured_prompt + prompt: refine it. No image is made."""
    model_id = generation.parse_model_id(body.tailored_model_id)
    payload = TailoredStructuredPrompt(
        prompt=body.prompt.strip() if body.prompt else None,
        structured_prompt=body.structured_prompt,
        seed=generation.new_seed(body.seed),
    )
    req = await run_in_threadpool(
        generation.submit_tailored_structured_prompt, rt, session, principal, model_id, payload,
        webhook_url=body.webhook_url,
    )  # fmt: skip
    return await answer(rt, base_url, req, body.sync)
