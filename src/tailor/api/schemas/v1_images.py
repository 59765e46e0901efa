"""Bodies and responses of ``/v1/tailored-gen/datasets/{id}/images``: ``ImageCreate`` (JSON form),
``ImageUpdate``, ``ImagePublic``, ``BulkUploadCreate``, ``BulkUploadStatusPublic``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tailor.api.schemas.common import Id, UpdateBody
from tailor.api.schemas.v1_projects import utc
from tailor.domain.enums import CaptionState, UploadSource, caption_state
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
    caption_state: CaptionState = Field(
        description="Tailor: missing | automatic | manual | pending | failed (the images list filters on it)."
    )
    previous_caption: str | None = Field(
        None, description="Tailor: the caption before it was last regenerated, refined or edited."
    )
    upload_source: UploadSource | None = Field(
        None, description="Tailor: how the image arrived: upload (a file), zip (bulk upload) or url."
    )
    file_size: int | None = Field(None, description="Tailor: bytes of the stored image.")
    source_width: int | None = Field(None, description="Tailor: width as uploaded, before any upscaling.")
    source_height: int | None = Field(None, description="Tailor: height as uploaded, before any upscaling.")
    upscaled: bool | None = Field(
        None, description="Tailor: whether the image was upscaled to reach the minimum size."
    )
    created_at: datetime
    updated_at: datetime


class BulkDelete(BaseModel):
    """Tailor: ``POST .../images/delete``."""

    model_config = ConfigDict(extra="forbid")

    image_ids: list[Id] = Field(
        min_length=1, max_length=5000, description="Images of this dataset to delete: all of them or none."
    )


class BulkDeleteResult(BaseModel):
    deleted: int = Field(description="How many images were deleted.")
    image_ids: list[int]


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


def _upscaled(img: Image) -> bool | None:
    if img.source_width is None or img.source_height is None:
        return None
    return img.source_width < img.width or img.source_height < img.height


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
        "caption_state": caption_state(img.caption, img.caption_source, img.caption_error),
        "previous_caption": img.previous_caption,
        "upload_source": img.upload_source,
        "file_size": img.file_size,
        "source_width": img.source_width,
        "source_height": img.source_height,
        "upscaled": _upscaled(img),
        "created_at": utc(img.created_at),
        "updated_at": utc(img.updated_at),
    }
