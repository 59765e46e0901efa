"""v2 use cases: check a generation or structured-prompt request and submit it as a v2 request.

Each ``submit_*`` function takes the typed payload the route built from the body, checks what
needs the database (the tailored model can serve, the organization's quota), keeps inline
reference images in the blob store, and adds the request with its job in the caller's transaction.
They are synchronous: routes run them in a worker thread, never on the event loop.
"""

from __future__ import annotations

import dataclasses
import secrets
from typing import TypeVar

from sqlalchemy.orm import Session

from tailor.bridge.prompts import validate_structured_prompt
from tailor.config import Settings
from tailor.domain import moderation
from tailor.domain.enums import ModelStatus
from tailor.domain.errors import InvalidInput, NotFound, PreconditionFailed
from tailor.domain.families import FAMILY_SPECS, FamilySpec, family_spec
from tailor.domain.jobs import (
    GENERATE_IMAGE,
    SEED_MAX,
    STRUCTURED_PROMPT,
    TAILORED_STRUCTURED_PROMPT,
    GenerateImage,
    JobKind,
    StructuredPrompt,
    TailoredStructuredPrompt,
)
from tailor.services.context import Stores
from tailor.services.reference_images import store_reference_images
from tailor.services.requests import create_request
from tailor.store import captions as caption_store
from tailor.store import checkpoints as checkpoint_store
from tailor.store.orgs import Principal
from tailor.store.tables import GenerationRequest, TailoredModel

P = TypeVar("P")

STEPS_FIELD, GUIDANCE_FIELD = "steps_num", "guidance_scale"
MODEL_FIELD = "tailored_model_id"


def new_seed(seed: int | None) -> int:
    """The request's seed, or a random one (recorded with the result, so the image can be recreated)."""
    return seed if seed is not None else secrets.randbelow(SEED_MAX + 1)


def parse_model_id(raw: str | int) -> int:
    """``tailored_model_id`` as Bria sends it (a string of digits) -> the model's id."""
    text = str(raw).strip()
    if not text.isdigit():
        raise InvalidInput("must be the id of a tailored model (digits)", field=MODEL_FIELD)
    return int(text)


def servable_model(session: Session, organization_id: int, model_id: int) -> tuple[TailoredModel, str | None]:
    """The organization's model, checked to be able to serve (Completed, trained on a base-model
    family this server knows, with an adapter), and the visual schema it generates with."""
    found = caption_store.model_with_schema(session, organization_id, model_id)
    if found is None or found[0].status == ModelStatus.Deleted:
        raise NotFound(f"tailored model {model_id} not found", field=MODEL_FIELD)
    model, schema = found
    if model.status != ModelStatus.Completed:
        raise PreconditionFailed(
            f"tailored model {model_id} is {model.status}; only Completed models can generate",
            field=MODEL_FIELD,
        )
    if (model.training_version or "") not in FAMILY_SPECS:
        raise PreconditionFailed(
            f"tailored model {model_id} was not trained on a base model this server serves "
            f"({', '.join(FAMILY_SPECS)}) "
            f"(training_version={model.training_version!r}); use /v1/text-to-image/tailored/{model_id}",
            field=MODEL_FIELD,
        )
    if checkpoint_store.serving_adapter(session, model) is None:
        raise PreconditionFailed(f"tailored model {model_id} has no trained adapter", field=MODEL_FIELD)
    return model, schema


def check_checkpoint(session: Session, model: TailoredModel, step: int) -> None:
    """``checkpoint_step`` of a generation: a checkpoint of ``model`` with an adapter (400 naming the
    available steps otherwise)."""
    row = checkpoint_store.get_checkpoint(session, model.id, step)
    if row is None or not row.adapter_key:
        steps = ", ".join(str(s) for s in checkpoint_store.checkpoint_steps(session, model.id)) or "none"
        raise InvalidInput(
            f"tailored model {model.id} has no checkpoint at step {step} (available: {steps})",
            field="checkpoint_step",
        )


def serving_values(
    settings: Settings, family: FamilySpec, steps: int | None, guidance: float | None
) -> tuple[int, float]:
    """``steps_num`` and ``guidance_scale`` for a model of ``family``: the defaults of the checkpoint
    that serves it (FIBO 2 turbo: 4 steps, no guidance) when absent, else checked against its range."""
    turbo = bool(family.turbo_weights(settings))
    serving = family.serving_for(turbo)
    label = f"{family.name}{' turbo' if turbo else ''}"
    if steps is None:
        steps = serving.default_steps
    lo, hi = serving.steps_range
    if not lo <= steps <= hi:
        raise InvalidInput(f"must be between {lo} and {hi} for {label} models", field=STEPS_FIELD)
    if guidance is None:
        guidance = serving.default_guidance
    glo, ghi = serving.guidance_range
    if not glo <= guidance <= ghi:
        raise InvalidInput(f"must be between {glo:g} and {ghi:g} for {label} models", field=GUIDANCE_FIELD)
    return steps, float(guidance)


def _valid(structured_prompt: str | None) -> str | None:
    return (
        None
        if structured_prompt is None
        else validate_structured_prompt(structured_prompt, field="structured_prompt")
    )


def _submit(
    rt: Stores,
    session: Session,
    principal: Principal,
    *,
    endpoint: str,
    kind: JobKind[P],
    payload: P,
    webhook_url: str | None,
    blob_keys: list[str],
) -> GenerationRequest:
    """Add the request and its job; remove ``blob_keys`` (inline images) if that fails."""
    try:
        return create_request(
            session,
            principal,
            endpoint=endpoint,
            kind=kind,
            payload=payload,
            webhook_url=webhook_url,
            allow_private_urls=rt.settings.allow_private_urls,
            max_active=rt.settings.org_max_active_jobs,
        )
    except BaseException:
        for key in blob_keys:
            rt.blobs.delete(key)
        raise


def submit_image(
    rt: Stores,
    session: Session,
    principal: Principal,
    payload: GenerateImage,
    *,
    endpoint: str,
    images: list[str],
    webhook_url: str | None,
    moderate_prompt: bool = False,
    steps_num: int | None = None,
    guidance_scale: float | None = None,
) -> GenerationRequest:
    """``/v2/image/generate[/tailored]``: a tailored model's image when ``payload.model_id`` is set
    (its ``steps_num`` and ``guidance_scale`` defaulted and checked per family by
    :func:`serving_values`; the base model's are in ``payload``). ``moderate_prompt`` (the
    request's prompt_content_moderation) runs the prompt check."""
    if moderate_prompt:
        moderation.check_prompt(payload.prompt, moderation.terms_of(rt.settings.moderation_blocked_terms))
    payload = dataclasses.replace(payload, structured_prompt=_valid(payload.structured_prompt))
    if payload.model_id is not None:
        model, _schema = servable_model(session, principal.organization_id, payload.model_id)
        if payload.checkpoint_step is not None:
            check_checkpoint(session, model, payload.checkpoint_step)
        steps, guidance = serving_values(
            rt.settings, family_spec(model.training_version), steps_num, guidance_scale
        )
        payload = dataclasses.replace(payload, steps_num=steps, guidance_scale=guidance)
    refs = store_reference_images(rt, principal.organization_id, images)
    payload = dataclasses.replace(payload, image_keys=refs.keys, image_urls=refs.urls)
    return _submit(
        rt, session, principal, endpoint=endpoint, kind=GENERATE_IMAGE, payload=payload,
        webhook_url=webhook_url, blob_keys=refs.keys,
    )  # fmt: skip


def submit_structured_prompt(
    rt: Stores,
    session: Session,
    principal: Principal,
    payload: StructuredPrompt,
    *,
    images: list[str],
    webhook_url: str | None,
) -> GenerationRequest:
    """``/v2/structured_prompt/generate``: words, an image, or a structured prompt to refine."""
    has_prompt, has_sp = bool(payload.prompt), bool(payload.structured_prompt)
    if has_sp and images:
        raise InvalidInput("give either structured_prompt or images, not both", field="structured_prompt")
    if has_sp and not has_prompt:
        raise InvalidInput("a structured_prompt is refined by a prompt: give prompt as well", field="prompt")
    if not (has_prompt or images):
        raise InvalidInput("give prompt, images, or both", field="prompt")
    _valid(payload.structured_prompt)
    refs = store_reference_images(rt, principal.organization_id, images)
    payload = dataclasses.replace(payload, image_keys=refs.keys, image_urls=refs.urls)
    return _submit(
        rt, session, principal, endpoint="/v2/structured_prompt/generate", kind=STRUCTURED_PROMPT,
        payload=payload, webhook_url=webhook_url, blob_keys=refs.keys,
    )  # fmt: skip


def submit_tailored_structured_prompt(
    rt: Stores,
    session: Session,
    principal: Principal,
    model_id: int,
    payload: TailoredStructuredPrompt,
    *,
    webhook_url: str | None,
) -> GenerationRequest:
    """``/v2/structured_prompt/generate/tailored``: a structured prompt in the model's visual schema."""
    if not payload.prompt:
        message = (
            "a structured_prompt is refined by a prompt: give prompt as well"
            if payload.structured_prompt
            else "prompt is required"
        )
        raise InvalidInput(message, field="prompt")
    structured = _valid(payload.structured_prompt)
    _model, schema = servable_model(session, principal.organization_id, model_id)
    payload = dataclasses.replace(payload, structured_prompt=structured, visual_schema=schema)
    return _submit(
        rt, session, principal, endpoint="/v2/structured_prompt/generate/tailored",
        kind=TAILORED_STRUCTURED_PROMPT, payload=payload, webhook_url=webhook_url, blob_keys=[],
    )  # fmt: skip
