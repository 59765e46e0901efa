"""Bodies of ``/v2/image/generate/tailored`` and ``/v2/image/generate``, with the contract's ranges."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tailor.api.schemas.common import Id, IdText
from tailor.domain.enums import AspectRatio
from tailor.domain.errors import InvalidInput
from tailor.domain.jobs import SEED_MAX

MAX_PROMPT_CHARS = 20_000


def _blank_to_none(value: str | None) -> str | None:
    return value if value is None or value.strip() else None


class _GenerateCommon(BaseModel):
    model_config = ConfigDict(extra="ignore")

    prompt: str | None = Field(
        None, max_length=MAX_PROMPT_CHARS, description="Text to generate from, or to refine with."
    )
    structured_prompt: str | None = Field(
        None, description="A structured prompt (JSON string), e.g. from a previous response."
    )
    negative_prompt: str | None = Field(
        None, max_length=MAX_PROMPT_CHARS, description="What to keep out of the image."
    )
    aspect_ratio: AspectRatio = Field(AspectRatio.r1_1, description="Aspect ratio of the image.")
    seed: int | None = Field(
        None, ge=0, le=SEED_MAX, description="Seed for deterministic generation; random when absent."
    )
    sync: bool = Field(False, description="true: wait and answer 200 with the result; false: 202.")
    webhook_url: str | None = Field(None, description="Called with the status body when the request ends.")
    prompt_content_moderation: bool = Field(True, description="Accepted for compatibility.")
    visual_output_content_moderation: bool = Field(True, description="Accepted for compatibility.")

    _blank = field_validator("prompt", "structured_prompt", "negative_prompt", "webhook_url")(_blank_to_none)


class TailoredImageRequest(_GenerateCommon):
    """Generate with a tailored model: exactly one of prompt, structured_prompt (+ seed), or both."""

    tailored_model_id: IdText = Field(description="The id of the tailored model (a string).")
    tailored_model_influence: float = Field(
        1.0, ge=0.0, le=1.5, description="Strength of the tailored model (LoRA scale)."
    )
    guidance_scale: float | None = Field(
        None,
        description="Adherence to the prompt. fibo models: 3-5 (default 5); fibo-2: 1-5 (default 5; "
        "served on turbo weights: default 1, no guidance).",
    )
    steps_num: int | None = Field(
        None,
        description="Denoising steps. fibo models: 20-50 (default 50); fibo-2: 10-50 (default 30; "
        "served on turbo weights: 1-8, default 4).",
    )

    checkpoint_step: Id | None = Field(
        None,
        description="Tailor: generate with this checkpoint of the model instead of the version it "
        "serves (GET /v1/tailored-gen/models/{id}/checkpoints lists them); the served version is "
        "left as it is.",
    )

    def model_id(self) -> int:
        """``tailored_model_id`` as an integer id (parsed and bounded by ``IdText``)."""
        return self.tailored_model_id

    def check_inputs(self) -> None:
        """prompt | structured_prompt | both (refine); anything else is a 400."""
        if not self.prompt and not self.structured_prompt:
            raise InvalidInput(
                "one of prompt or structured_prompt (or both, to refine) is required", field="prompt"
            )


class ImageGenerateRequest(_GenerateCommon):
    """Generate with the base model: prompt | images | images + prompt | structured_prompt [+ prompt]."""

    images: list[str] | None = Field(
        None, max_length=1, description="One reference image: a public URL or base64 data."
    )
    resolution: Literal["1MP", "4MP"] = Field("1MP", description="Output resolution (1MP).")
    model_version: Literal["FIBO"] | None = Field(None, description="Generation model version.")
    guidance_scale: float = Field(5, ge=3, le=5, description="Adherence to the prompt (3-5).")
    steps_num: int = Field(50, ge=35, le=50, description="Denoising steps (35-50).")
    output_type: Literal["png", "jpeg"] = Field("png", description="Image format of the result.")
    ip_signal: bool = Field(False, description="Accepted for compatibility.")
    visual_input_content_moderation: bool = Field(True, description="Accepted for compatibility.")

    def check_inputs(self) -> None:
        """The input combinations of ``/v2/image/generate``; anything else is a 400."""
        if self.resolution != "1MP":
            raise InvalidInput("only 1MP is supported by this server", field="resolution")
        if self.images is not None and any(not (i or "").strip() for i in self.images):
            raise InvalidInput("must not hold empty strings", field="images")
        if self.images and self.structured_prompt:
            raise InvalidInput("images cannot be combined with structured_prompt", field="structured_prompt")
        if not self.prompt and not self.structured_prompt and not self.images:
            raise InvalidInput("one of prompt, images or structured_prompt is required", field="prompt")
