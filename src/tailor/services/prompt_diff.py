"""``/v2/structured_prompt/generate_from_diff``: check both structured prompts, submit the request."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tailor.bridge.prompts import validate_structured_prompt
from tailor.domain.jobs import STRUCTURED_PROMPT_DIFF, StructuredPromptDiff
from tailor.services.context import Stores
from tailor.services.requests import create_request
from tailor.store.orgs import Principal
from tailor.store.tables import GenerationRequest

ENDPOINT = "/v2/structured_prompt/generate_from_diff"


def submit(
    rt: Stores,
    session: Session,
    principal: Principal,
    payload: StructuredPromptDiff,
    *,
    webhook_url: str | None,
) -> GenerationRequest:
    """Both prompts must be structured prompts (400 naming the one that is not)."""
    validate_structured_prompt(payload.structured_prompt, field="structured_prompt")
    validate_structured_prompt(
        payload.user_adjusted_structured_prompt, field="user_adjusted_structured_prompt"
    )
    return create_request(
        session,
        principal,
        endpoint=ENDPOINT,
        kind=STRUCTURED_PROMPT_DIFF,
        payload=payload,
        webhook_url=webhook_url,
        allow_private_urls=rt.settings.allow_private_urls,
        max_active=rt.settings.org_max_active_jobs,
    )
