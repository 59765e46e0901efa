"""``/v1/tailored-gen/generate_visual_schema``, ``refine_structured_prompt`` and ``generate_prefix``.

Synchronous, as in Bria's API. The routes are plain functions, so FastAPI runs them in its thread
pool; a remote VLM's calls are bounded by the provider's timeout, retries and concurrency limit.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from tailor.api.deps import CurrentOrg, RuntimeDep, SessionDep
from tailor.api.schemas.v1_vlm import (
    PrefixCreate,
    PrefixPublic,
    RefineStructuredPrompt,
    StructuredPromptPublic,
    VisualSchemaCreate,
    VisualSchemaPublic,
)
from tailor.bridge.inputs import load_images
from tailor.domain.enums import DatasetStatus
from tailor.domain.errors import Conflict, InvalidInput, NotFound
from tailor.store import datasets as dataset_store

router = APIRouter(prefix="/v1/tailored-gen", tags=["Dataset"])

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "A field breaks a rule; the message names it."},
    413: {"description": "An image is over the size limit."},
    415: {"description": "An entry is not a png, jpg or webp image."},
    422: {"description": "The VLM's reply was not valid, even after repair."},
    503: {"description": "The VLM provider is unavailable (after retries)."},
}


@router.post(
    "/generate_visual_schema",
    response_model=VisualSchemaPublic,
    summary="Generate a visual schema from 5-10 sample images",
    responses=ERRORS,
)
def generate_visual_schema(body: VisualSchemaCreate, rt: RuntimeDep, _: CurrentOrg) -> dict[str, str]:
    """The fields constant across the samples (style, medium, palette, lighting, recurring subject)."""
    images = load_images(body.images, rt.settings, "images")
    return {"visual_schema": rt.resources.bridge().visual_schema(images)}


@router.post(
    "/refine_structured_prompt",
    response_model=StructuredPromptPublic,
    summary="Refine a visual schema or a caption by an instruction",
    responses={
        **ERRORS,
        404: {"description": "Dataset not found."},
        409: {"description": "Dataset is completed."},
    },
)
def refine_structured_prompt(
    body: RefineStructuredPrompt, rt: RuntimeDep, session: SessionDep, principal: CurrentOrg
) -> dict[str, str]:
    """Only what the instruction asks changes; the rest of the JSON is kept as it was."""
    dataset = dataset_store.get_dataset(session, principal.organization_id, body.dataset_id)
    if dataset is None:
        raise NotFound(f"dataset {body.dataset_id} not found", field="dataset_id")
    if dataset.status != DatasetStatus.draft:
        raise Conflict(f"dataset {body.dataset_id} is {dataset.status}; only draft datasets can be refined")
    session.rollback()  # release the read before the (possibly slow) VLM call
    images = load_images(body.context_images or [], rt.settings, "context_images")
    bridge = rt.resources.bridge()
    return {"structured_prompt": bridge.refine(body.structured_prompt, body.instruction, images or None)}


@router.post(
    "/generate_prefix",
    response_model=PrefixPublic,
    summary="Generate a caption prefix (legacy models)",
    responses=ERRORS,
)
def generate_prefix(body: PrefixCreate, rt: RuntimeDep, _: CurrentOrg) -> dict[str, str]:
    """A short text prefix naming what 1-6 sample images share."""
    if body.images and body.image_urls:
        raise InvalidInput("give either images or image_urls, not both", field="images")
    values = body.images or body.image_urls
    if not values:
        raise InvalidInput("give 1-6 images (base64) or image_urls", field="images")
    field = "images" if body.images else "image_urls"
    images = load_images(values, rt.settings, field)
    return {"prefix": rt.resources.bridge().prefix(images)}
