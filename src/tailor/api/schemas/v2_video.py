"""Body of ``/v2/video/generate/tailored/image-to-video``."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tailor.api.schemas.common import IdText
from tailor.domain.jobs import SEED_MAX


class TailoredVideoRequest(BaseModel):
    """Animate an image a tailored model made into a 5-second MP4 (always asynchronous: 202)."""

    model_config = ConfigDict(extra="ignore")

    tailored_model_id: IdText = Field(description="The id of the tailored model that made the image.")
    image: str = Field(
        min_length=1,
        description="The image to animate: a public http(s) URL or base64 data (jpg, png, webp).",
    )
    seed: int | None = Field(
        None, ge=0, le=SEED_MAX, description="Seed for a reproducible clip; random when absent."
    )
    sync: bool = Field(False, description="true: wait (up to TAILOR_SYNC_TIMEOUT_S) and answer 200.")
    webhook_url: str | None = Field(None, description="Called with the status body when the request ends.")

    @field_validator("webhook_url")
    @classmethod
    def _blank(cls, value: str | None) -> str | None:
        return value if value is None or value.strip() else None
