"""Bodies and responses of the VLM endpoints under ``/v1/tailored-gen``: visual schema, refinement,
caption prefix."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from tailor.api.schemas.common import Id
from tailor.domain.enums import IpType


class VisualSchemaCreate(BaseModel):
    """``POST /v1/tailored-gen/generate_visual_schema``."""

    model_config = ConfigDict(extra="ignore")

    images: list[str] = Field(
        ..., min_length=5, max_length=10, description="5-10 images: public URLs or base64 (png, jpg, webp)."
    )
    content_moderation: bool = Field(False, description="Accepted; Tailor runs no moderation model.")


class VisualSchemaPublic(BaseModel):
    visual_schema: str = Field(..., description="The visual schema, a JSON string.")


class RefineStructuredPrompt(BaseModel):
    """``POST /v1/tailored-gen/refine_structured_prompt``."""

    model_config = ConfigDict(extra="ignore")

    dataset_id: Id = Field(..., description="A draft dataset of yours.")
    structured_prompt: str = Field(..., description="A visual schema or an image caption (JSON string).")
    instruction: str = Field(..., min_length=1, max_length=10_000, description="What to change.")
    context_images: list[str] | None = Field(
        None, max_length=10, description="Optional images (URLs or base64) as visual context."
    )


class StructuredPromptPublic(BaseModel):
    structured_prompt: str = Field(..., description="The refined structured prompt (JSON string).")


class PrefixCreate(BaseModel):
    """``POST /v1/tailored-gen/generate_prefix`` (legacy models): ``images`` or ``image_urls``."""

    model_config = ConfigDict(extra="ignore")

    images: list[str] | None = Field(
        None, min_length=1, max_length=6, description="1-6 images, base64 (URLs are accepted too)."
    )
    image_urls: list[str] | None = Field(None, min_length=1, max_length=6, description="1-6 image URLs.")
    ip_type: IpType | None = Field(None, description="The project's IP type.")
    content_moderation: bool = Field(False, description="Accepted; Tailor runs no moderation model.")


class PrefixPublic(BaseModel):
    prefix: str = Field(..., description="A text caption prefix for the dataset.")
