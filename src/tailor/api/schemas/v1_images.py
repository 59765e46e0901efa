"""Bodies and responses of ``/v1/tailored-gen/datasets/{id}/images``: ``ImageCreate`` (JSON form),
``ImageUpdate``, ``ImagePublic``, ``BulkUploadCreate``, ``BulkUploadStatusPublic``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tailor.api.schemas.common import UpdateBody
from tailor.api.schemas.v1_projects import utc
from tailor.domain.signing import LinkSigner
from tailor.store.tables import Image


class ImageCreate(BaseModel):
    """The JSON form of an upload (the multipart form has the same fields, ``file`` as a file)."""

    model_config = ConfigDict(extra="ignore")

    file: str | None = Field(None, description="The image, base64-encoded (or send image_url).")
    image_url: str | None = Field(None, description="A public http(s) URL of the image.")
    image_name: str | None = Field(None, max_length=500)
    increase_resolution: bool = Field(
        True, description="Upscale images from 256x256 up so the short side reaches 1024."
    )
    content_moderation: bool = Field(
        False, description="Check the image with TAILOR_MODERATION_MODEL, when set (422 if blocked)."
    )


class ImageUpdate(UpdateBody):
    caption: str | None = Field(None, description="A structured prompt JSON string (source: manual).")
    regenerate_caption: bool = Field(False, description="Caption the image again (source: automatic).")


class ImagePublic(BaseModel):
    id: int
    dataset_id: int
    caption: str | None
    caption_source: str | None
    upload_source_url: str | None
    image_name: str
    image_url: str
    thumbnail_url: str
    width: int = Field(description="Tailor: width of the stored image.")
    height: int = Field(description="Tailor: height of the stored image.")
    caption_error: str | None = Field(None, description="Tailor: why the last caption attempt failed.")
    created_at: datetime
    updated_at: datetime


class BulkUploadCreate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    zip_url: str = Field(description="A public http(s) URL of the zip archive.")
    content_moderation: bool = Field(False, description="Accepted; bulk uploads are not moderated.")


class FailedImage(BaseModel):
    filename: str
    error_code: int
    error_message: str


class BulkUploadStatusPublic(BaseModel):
    status: str
    progress_percentage: int
    total_processed: int
    done: int
    failed: int
    failed_images: list[FailedImage]
    total: int = Field(description="Tailor: members of the archive to process.")
    error: str | None = Field(None, description="Tailor: why the whole upload failed.")
    queue: dict[str, Any] | None = Field(
        None,
        description="Tailor: while pending or processing, where its job stands (state, position, what is "
        "ahead, message).",
    )


def render_image(img: Image, base_url: str, signer: LinkSigner) -> dict[str, Any]:
    return {
        "id": img.id,
        "dataset_id": img.dataset_id,
        "caption": img.caption,
        "caption_source": img.caption_source,
        "upload_source_url": img.upload_source_url,
        "image_name": img.image_name,
        "image_url": f"{base_url}{signer.path(img.blob_key)}",
        "thumbnail_url": f"{base_url}{signer.path(img.thumbnail_key)}",
        "width": img.width,
        "height": img.height,
        "caption_error": img.caption_error,
        "created_at": utc(img.created_at),
        "updated_at": utc(img.updated_at),
    }
