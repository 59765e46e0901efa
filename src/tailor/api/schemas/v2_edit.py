"""Bodies of ``/v2/image/edit`` (Bria's field names) and Tailor's ``/v2/image/edit/tailored``."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tailor.api.schemas.common import IdText
from tailor.domain.jobs import SEED_MAX

MAX_INSTRUCTION_CHARS = 10_000


def _blank_to_none(value: str | None) -> str | None:
    return value if value is None or value.strip() else None


class _EditCommon(BaseModel):
    model_config = ConfigDict(extra="ignore")

    instruction: str | None = Field(
        None,
        max_length=MAX_INSTRUCTION_CHARS,
        description="What to change, in words. Several images are referred to as <image_1>, <image_2>...",
    )
    structured_instruction: str | None = Field(
        None,
        max_length=100_000,
        description="A structured instruction (JSON string with `edit_instruction`, optionally the "
        "caption of the result), e.g. from a previous response's structured_prompt: recreates it "
        "with the same seed.",
    )
    mask: str | None = Field(
        None,
        description="The region to regenerate, white on black (URL or base64); one image only.",
    )
    negative_prompt: str | None = Field(
        None, max_length=MAX_INSTRUCTION_CHARS, description="What to keep out of the result."
    )
    guidance_scale: float | None = Field(
        None, description="Adherence to the instruction (1-5; default 5, or 1 on turbo weights)."
    )
    steps_num: int | None = Field(
        None, description="Denoising steps (10-50, default 30; on turbo weights 1-8, default 4)."
    )
    seed: int | None = Field(
        None, ge=0, le=SEED_MAX, description="Seed for deterministic editing; random when absent."
    )
    sync: bool = Field(False, description="true: wait and answer 200 with the result; false: 202.")
    webhook_url: str | None = Field(None, description="Called with the status body when the request ends.")

    _blank = field_validator(
        "instruction", "structured_instruction", "mask", "negative_prompt", "webhook_url"
    )(_blank_to_none)


class ImageEditRequest(_EditCommon):
    """Edit one image with the base model."""

    images: list[str] = Field(
        min_length=1, max_length=1, description="The image to edit: a public URL or base64 data."
    )


class TailoredImageEditRequest(_EditCommon):
    """Edit with a tailored model (FIBO 2): up to 5 images, referred to as <image_1>..."""

    tailored_model_id: IdText = Field(description="The id of the tailored model (a string).")
    tailored_model_influence: float = Field(
        1.0, ge=0.0, le=1.5, description="Strength of the tailored model (LoRA scale)."
    )
    images: list[str] = Field(
        min_length=1,
        max_length=5,
        description="The images to edit (URL or base64 each), in the order <image_1>, <image_2>...",
    )
