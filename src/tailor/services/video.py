"""Image-to-video: check a ``/v2/video/generate/tailored/image-to-video`` request and submit it; the
worker's side reads what it needs of the model and checks a fetched image by the same rules.

An inline (base64) image is checked by the upload rules (decoded by content, jpg/png/webp, pixel
and byte limits, corrupt data refused) and kept in the blob store normalized (orientation applied,
transparency flattened); an image URL is checked now and fetched by the worker.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from tailor.domain.enums import ModelStatus
from tailor.domain.errors import InvalidInput, NotFound, PreconditionFailed, Unprocessable
from tailor.domain.jobs import GENERATE_VIDEO, GenerateVideo
from tailor.infra.imaging import ImageRules, NormalizedImage, decode_base64, normalize_image
from tailor.infra.safe_fetch import check_public_url
from tailor.services.context import Stores
from tailor.services.generation import MODEL_FIELD, new_seed
from tailor.services.requests import create_request
from tailor.store import captions as caption_store
from tailor.store.orgs import Principal
from tailor.store.tables import GenerationRequest, Project, TailoredModel

ENDPOINT = "/v2/video/generate/tailored/image-to-video"
IMAGE_FIELD = "image"


@dataclass(frozen=True)
class VideoModel:
    """What a clip needs of its tailored model: its visual schema and its project's IP."""

    model_id: int
    visual_schema: str | None
    ip_type: str | None
    ip_name: str | None
    ip_medium: str | None


def video_model(session: Session, organization_id: int, model_id: int) -> VideoModel:
    """The organization's model, checked to be Completed (404 when unknown or another's, 412 when
    not Completed)."""
    found = caption_store.model_with_schema(session, organization_id, model_id)
    if found is None:
        raise NotFound(f"tailored model {model_id} not found", field=MODEL_FIELD)
    model, schema = found
    if model.status != ModelStatus.Completed:
        raise PreconditionFailed(
            f"tailored model {model_id} is {model.status}; only Completed models can animate images",
            field=MODEL_FIELD,
        )
    project = session.execute(
        select(Project).where(Project.id == model.project_id, Project.organization_id == organization_id)
    ).scalar_one_or_none()
    return _video_model(model, schema, project)


def _video_model(model: TailoredModel, schema: str | None, project: Project | None) -> VideoModel:
    return VideoModel(
        model_id=model.id,
        visual_schema=schema,
        ip_type=project.ip_type if project else None,
        ip_name=project.ip_name if project else None,
        ip_medium=project.ip_medium if project else None,
    )


def check_image(rt: Stores, data: bytes, *, field: str = IMAGE_FIELD) -> NormalizedImage:
    """The upload rules, without the training minimum size: 415 not an image (or not jpg/png/webp),
    413 too many bytes or pixels, 422 corrupt or empty."""
    rules = dataclasses.replace(ImageRules.from_settings(rt.settings), min_side=1, min_upscale_side=1)
    try:
        return normalize_image(data, rules, increase_resolution=False, field=field)
    except (InvalidInput, PreconditionFailed) as e:
        raise Unprocessable(e.message, field=field) from e


def decode_base64_image(rt: Stores, value: str, *, field: str = IMAGE_FIELD) -> bytes:
    """Base64 (or a data: URI) -> bytes; text that is not base64 is invalid image data (422), more
    than ``max_image_bytes`` is 413 (checked before decoding)."""
    try:
        return decode_base64(
            value, max_bytes=rt.settings.max_image_bytes, field=field,
            message="must be an http(s) URL or base64 image data",
        )  # fmt: skip
    except InvalidInput as e:
        raise Unprocessable(e.message, field=field) from e


def submit_video(
    rt: Stores,
    session: Session,
    principal: Principal,
    *,
    model_id: int,
    image: str,
    seed: int | None,
    webhook_url: str | None,
) -> GenerationRequest:
    """Check the model and the image, keep an inline image, add the request and its job."""
    org = principal.organization_id
    video_model(session, org, model_id)
    value = image.strip()
    if not value:
        raise InvalidInput("must not be empty", field=IMAGE_FIELD)
    payload = GenerateVideo(seed=new_seed(seed), model_id=model_id)
    key: str | None = None
    if value.startswith(("http://", "https://")):
        check_public_url(value, allow_private=rt.settings.allow_private_urls, field=IMAGE_FIELD)
        payload = dataclasses.replace(payload, image_url=value)
    else:
        checked = check_image(rt, decode_base64_image(rt, value))
        key = f"requests/{org}/{uuid.uuid4().hex}.{checked.ext}"
        rt.blobs.put(key, checked.data, checked.content_type)
        payload = dataclasses.replace(payload, image_key=key)
    try:
        return create_request(
            session,
            principal,
            endpoint=ENDPOINT,
            kind=GENERATE_VIDEO,
            payload=payload,
            webhook_url=webhook_url,
            allow_private_urls=rt.settings.allow_private_urls,
            max_active=rt.settings.org_max_active_jobs,
        )
    except BaseException:
        if key is not None:
            rt.blobs.delete(key)
        raise
