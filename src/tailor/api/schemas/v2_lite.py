"""Bodies of ``/v2/image/generate/lite``, ``/v2/structured_prompt/generate/lite`` and
``/v2/structured_prompt/generate_from_diff`` (Bria's field names and ranges)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from tailor.api.schemas.v2_image import ImageGenerateRequest
from tailor.domain.jobs import SEED_MAX


class LiteImageRequest(ImageGenerateRequest):
    """``/v2/image/generate/lite``: as ``/v2/image/generate`` without steps, guidance or resolution
    (the lite path sets its own steps: ``TAILOR_LITE_STEPS_NUM``)."""

    resolution: Literal["1MP"] = Field("1MP", description="Lite images are 1MP.")
    steps_num: int | None = Field(None, description="Not a lite field: the lite path sets its own steps.")  # type: ignore[assignment]
    guidance_scale: float | None = Field(None, description="Not a lite field.")  # type: ignore[assignment]


class StructuredPromptDiffRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    structured_prompt: str = Field(
        min_length=1, description="The structured prompt (JSON string) before the edits."
    )
    user_adjusted_structured_prompt: str = Field(
        min_length=1, description="The same structured prompt with the user's edits."
    )
    seed: int | None = Field(None, ge=0, le=SEED_MAX, description="Random when omitted.")
    sync: bool = Field(False, description="true: wait and answer 200; false: 202 with status_url.")
    webhook_url: str | None = Field(None, description="Receives the terminal status, signed.")
    model_version: Literal["FIBO"] | None = Field(None, description="Generation model version.")
