"""Body of the legacy ``POST /v1/text-to-image/tailored/{model_id}`` (v1 field names)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tailor.api.schemas.v2_image import MAX_PROMPT_CHARS
from tailor.domain.enums import AspectRatio
from tailor.domain.errors import InvalidInput
from tailor.domain.jobs import SEED_MAX

# v1 options that steer generation in ways the FIBO engine here does not offer: refused by name
# rather than silently ignored, so a script learns what it would not get.
UNSUPPORTED_PREFIXES = ("guidance_method_", "image_prompt_")


def unsupported_options(raw: dict[str, Any]) -> list[str]:
    """The v1 options in ``raw`` that this server refuses (``fast: true`` among them)."""
    names = sorted(k for k in raw if k.startswith(UNSUPPORTED_PREFIXES) and raw[k] not in (None, ""))
    if raw.get("fast") is True:
        names.append("fast")
    return names


class LegacyTextToImageRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    prompt: str = Field(min_length=1, max_length=MAX_PROMPT_CHARS, description="What to generate.")
    num_results: int = Field(1, ge=1, le=4, description="Images to generate (1-4), each with its own seed.")
    aspect_ratio: AspectRatio = Field(AspectRatio.r1_1, description="Aspect ratio of the images.")
    seed: int | None = Field(
        None, ge=0, le=SEED_MAX, description="Seed of the first image (the next ones use seed+1, ...)."
    )
    model_influence: float = Field(1.0, ge=0.0, le=1.5, description="Strength of the tailored model.")
    negative_prompt: str | None = Field(None, max_length=MAX_PROMPT_CHARS)
    steps_num: int = Field(50, ge=1, le=50, description="Denoising steps (1-50).")
    include_generation_prefix: bool = Field(
        True, description="Put the dataset's caption_prefix before the prompt, when it has one."
    )
    sync: bool = Field(True, description="true (v1's default): wait for the images.")
    prompt_enhancement: bool = Field(False, description="Accepted: prompts are always expanded here.")
    content_moderation: bool = Field(
        False, description="Run the prompt check and the output image check, where configured."
    )
    fast: bool = Field(False, description="true is not supported (400).")

    @model_validator(mode="before")
    @classmethod
    def _refuse_unsupported(cls, data: Any) -> Any:
        if isinstance(data, dict):
            names = unsupported_options(data)
            if names:
                raise InvalidInput(
                    f"unsupported v1 option(s): {', '.join(names)}: this server generates with FIBO "
                    "tailored models, without ControlNet guidance, image prompts or fast mode",
                    field=names[0],
                )
        return data
