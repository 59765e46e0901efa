"""Bodies and responses of ``/v1/tailored-gen/datasets``: ``DatasetCreate``, ``DatasetUpdate``,
``DatasetClone``, ``DatasetPublic`` and its renderer."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from tailor.api.schemas.common import Id, UpdateBody
from tailor.api.schemas.v1_images import ImagePublic, render_image
from tailor.api.schemas.v1_projects import utc
from tailor.domain.enums import DatasetStatus, UploadType
from tailor.domain.signing import LinkSigner


class DatasetCreate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    project_id: Id
    name: str = Field(min_length=1, max_length=500)
    upload_type: UploadType = Field(
        UploadType.basic, description="basic: <= 200 images, one by one; advanced: <= 5000, zip upload."
    )


class DatasetUpdate(UpdateBody):
    NULLABLE: ClassVar[frozenset[str]] = frozenset({"visual_schema"})

    name: str | None = Field(None, min_length=1, max_length=500)
    visual_schema: str | None = Field(None, description="A visual schema JSON string (draft only).")
    status: DatasetStatus | None = Field(None, description="completed needs at least 5 images.")
    force: bool | None = Field(
        None,
        description="Tailor: complete the dataset even when its readiness report has blocking problems.",
    )


class DatasetClone(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str | None = Field(None, max_length=500, description='Default: "Copy of <name>".')
    description: str | None = None


class DatasetPublic(BaseModel):
    id: int
    project_id: int
    name: str
    visual_schema: str | None
    status: str
    captions_update_status: str
    upload_type: str
    images_count: int
    images: list[ImagePublic] | None = Field(None, description="GET one and clone only.")
    models: list[dict[str, Any]] | None = Field(None, description="With include_models=true.")
    model_ids: list[str] | None = Field(None, description="With include_models_ids=true.")
    created_at: datetime
    updated_at: datetime


def render_dataset(
    view: Any, base_url: str, signer: LinkSigner, *, model_ids: bool = False
) -> dict[str, Any]:
    """``view`` is a ``services.datasets.DatasetView``; optional parts appear only when loaded."""
    d = view.dataset
    body: dict[str, Any] = {
        "id": d.id,
        "project_id": d.project_id,
        "name": d.name,
        "visual_schema": d.visual_schema,
        "status": d.status,
        "captions_update_status": d.captions_update_status,
        "upload_type": d.upload_type,
        "images_count": view.images_count,
        "created_at": utc(d.created_at),
        "updated_at": utc(d.updated_at),
    }
    if view.images is not None:
        body["images"] = [render_image(i, base_url, signer) for i in view.images]
    if model_ids and view.models is not None:
        body["model_ids"] = [str(m.id) for m in view.models]
    return body
