"""v2 editing: check an edit request and submit it (``/v2/image/edit`` and ``/edit/tailored``).

An edit is an instruction applied to images by a family that edits (FIBO 2: up to 5 images,
referred to in the instruction as ``<image_1>``..., and a mask for a single image). The instruction
is kept as a *structured instruction*: a JSON object with ``edit_instruction`` (and optionally the
caption of the result), which the result returns as its ``structured_prompt``; sending it back as
``structured_instruction`` with the same seed recreates the image byte for byte. Inline images
go to the blob store in their order; URLs are fetched by the worker.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from tailor.domain.errors import InvalidInput, PreconditionFailed
from tailor.domain.families import DEFAULT_EDIT_FAMILY, family_spec
from tailor.domain.jobs import EDIT_IMAGE, EditImage
from tailor.infra.safe_fetch import check_public_url
from tailor.services.context import Stores
from tailor.services.generation import MODEL_FIELD, servable_model, serving_values
from tailor.services.reference_images import decode_image
from tailor.services.requests import create_request
from tailor.store.orgs import Principal
from tailor.store.tables import GenerationRequest

IMAGE_REF = re.compile(r"<image_(\d+)>")


@dataclass(frozen=True)
class EditRequest:
    """An edit as the route read it from the body."""

    images: list[str]
    seed: int
    instruction: str | None = None
    structured_instruction: str | None = None
    mask: str | None = None
    negative_prompt: str | None = None
    guidance_scale: float | None = None
    steps_num: int | None = None
    model_id: int | None = None
    influence: float = 1.0


def structured_instruction(instruction: str | None, structured: str | None) -> str:
    """The structured instruction of a request: ``instruction`` wrapped, or ``structured`` checked
    (a JSON object with a non-empty ``edit_instruction``), compact either way."""
    if (instruction is None) == (structured is None):
        raise InvalidInput("give exactly one of instruction or structured_instruction", field="instruction")
    if instruction is not None:
        return json.dumps({"edit_instruction": instruction}, separators=(",", ":"), ensure_ascii=False)
    field = "structured_instruction"
    try:
        value = json.loads(structured or "")
    except json.JSONDecodeError as e:
        raise InvalidInput(f"must be a JSON object: {e.msg}", field=field) from None
    if not isinstance(value, dict):
        raise InvalidInput("must be a JSON object", field=field)
    edit = value.get("edit_instruction")
    if not isinstance(edit, str) or not edit.strip():
        raise InvalidInput("must hold a non-empty string edit_instruction", field=field)
    if "structured_caption" in value and (
        not isinstance(value["structured_caption"], dict | str) or len(value) > 2
    ):
        raise InvalidInput(
            "with structured_caption it may hold only structured_caption (an object or a string) and "
            "edit_instruction",
            field=field,
        )
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _check_references(structured: str, count: int, field: str) -> None:
    text = json.loads(structured)["edit_instruction"]
    for match in IMAGE_REF.finditer(text):
        n = int(match.group(1))
        if not 1 <= n <= count:
            raise InvalidInput(f"refers to <image_{n}> but the request has {count} image(s)", field=field)


def _keep(rt: Stores, organization_id: int, value: str, field: str, written: list[str]) -> str:
    """An image of the request as the job names it: its URL (checked, fetched by the worker) or the
    blob key of its inline bytes (checked, stored; added to ``written``)."""
    if value.startswith(("http://", "https://")):
        check_public_url(value, allow_private=rt.settings.allow_private_urls, field=field)
        return value
    st = rt.settings
    data, ext = decode_image(value, max_bytes=st.max_image_bytes, max_pixels=st.max_image_pixels, field=field)
    key = f"requests/{organization_id}/{uuid.uuid4().hex}.{ext}"
    rt.blobs.put(key, data)
    written.append(key)
    return key


def submit_edit(
    rt: Stores,
    session: Session,
    principal: Principal,
    req: EditRequest,
    *,
    endpoint: str,
    webhook_url: str | None,
) -> GenerationRequest:
    """Check the edit, keep its inline images, and add the request with its job."""
    structured = structured_instruction(req.instruction, req.structured_instruction)
    ref_field = "instruction" if req.instruction is not None else "structured_instruction"
    _check_references(structured, len(req.images), ref_field)
    if req.model_id is not None:
        model, _schema = servable_model(session, principal.organization_id, req.model_id)
        spec = family_spec(model.training_version)
        if spec.max_edit_images == 0:
            raise PreconditionFailed(
                f"tailored model {req.model_id} was trained on {spec.title} ({spec.name!r}), which does "
                f"not edit; train on {DEFAULT_EDIT_FAMILY!r} to edit with a tailored model",
                field=MODEL_FIELD,
            )
    else:
        spec = family_spec(DEFAULT_EDIT_FAMILY)
    if len(req.images) > spec.max_edit_images:
        raise InvalidInput(f"at most {spec.max_edit_images} images can be edited together", field="images")
    if req.mask is not None and len(req.images) != 1:
        raise InvalidInput("a mask needs exactly one image in images", field="mask")
    if any(not (i or "").strip() for i in req.images):
        raise InvalidInput("must not hold empty strings", field="images")
    steps, guidance = serving_values(rt.settings, spec, req.steps_num, req.guidance_scale)

    written: list[str] = []
    try:
        images = [
            _keep(rt, principal.organization_id, v, f"images.{i}", written) for i, v in enumerate(req.images)
        ]
        mask = None if req.mask is None else _keep(rt, principal.organization_id, req.mask, "mask", written)
        payload = EditImage(
            seed=req.seed,
            instruction=structured,
            images=images,
            family=spec.name,
            steps_num=steps,
            guidance_scale=guidance,
            model_id=req.model_id,
            mask=mask,
            negative_prompt=req.negative_prompt,
            influence=req.influence,
        )
        return create_request(
            session,
            principal,
            endpoint=endpoint,
            kind=EDIT_IMAGE,
            payload=payload,
            webhook_url=webhook_url,
            allow_private_urls=rt.settings.allow_private_urls,
            max_active=rt.settings.org_max_active_jobs,
        )
    except BaseException:
        for key in written:
            rt.blobs.delete(key)
        raise
