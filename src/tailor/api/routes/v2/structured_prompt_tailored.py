"""``POST /v2/structured_prompt/generate/tailored``: a structured prompt in a tailored model's visual
schema (its IP fields kept), without generating an image. A v2 request: 202, or 200 with ``sync``."""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from tailor.api.deps import BaseUrl, CurrentOrg, RuntimeDep, SessionDep
from tailor.api.routes.v2.protocol import answer
from tailor.api.schemas.common import IdText
from tailor.bridge.handlers import TAILORED_KIND
from tailor.bridge.prompts import validate_structured_prompt
from tailor.domain.enums import ModelStatus
from tailor.domain.errors import InvalidInput, NotFound, PreconditionFailed
from tailor.jobs.queue import Priority
from tailor.services.requests import create_request
from tailor.store import captions as store

router = APIRouter(prefix="/v2", tags=["Image Generation"])

SEED_MAX = 2**32 - 1
FIBO_VERSION = "fibo"


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


def _model_id(raw: str | int) -> int:
    text = str(raw).strip()
    if not text.isdigit():
        raise InvalidInput("must be the id of a tailored model (digits)", field="tailored_model_id")
    return int(text)


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
    model_id = _model_id(body.tailored_model_id)
    if not body.prompt:
        field = "prompt"
        msg = (
            "a structured_prompt is refined by a prompt: give prompt as well"
            if body.structured_prompt
            else "prompt is required"
        )
        raise InvalidInput(msg, field=field)
    structured = (
        validate_structured_prompt(body.structured_prompt, field="structured_prompt")
        if body.structured_prompt
        else None
    )
    found = store.model_with_schema(session, principal.organization_id, model_id)
    if found is None:
        raise NotFound(f"tailored model {model_id} not found", field="tailored_model_id")
    model, schema = found
    if model.status != ModelStatus.Completed:
        raise PreconditionFailed(
            f"tailored model {model_id} is {model.status}; only Completed models can generate",
            field="tailored_model_id",
        )
    if (model.training_version or "") != FIBO_VERSION:
        raise PreconditionFailed(
            f"tailored model {model_id} was not trained on FIBO (training_version="
            f"{model.training_version!r})",
            field="tailored_model_id",
        )
    payload = {
        "model_id": model_id,
        "prompt": body.prompt.strip(),
        "structured_prompt": structured,
        "visual_schema": schema,
        "seed": body.seed if body.seed is not None else secrets.randbelow(SEED_MAX + 1),
    }
    req = create_request(
        session,
        principal,
        endpoint="/v2/structured_prompt/generate/tailored",
        kind=TAILORED_KIND,
        payload=payload,
        webhook_url=body.webhook_url,
        priority=Priority.INTERACTIVE,
        max_attempts=rt.settings.job_max_attempts,
        allow_private_urls=rt.settings.allow_private_urls,
    )
    return await answer(rt, base_url, req, body.sync)
