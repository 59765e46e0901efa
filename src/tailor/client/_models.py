"""Response objects: pydantic models that keep any field the server adds (``extra="allow"``)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class TailorObject(BaseModel):
    """Base of every response object; unknown fields are kept as attributes."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, protected_namespaces=())


class Project(TailorObject):
    id: int
    project_name: str | None = None
    project_description: str | None = None
    ip_name: str | None = None
    ip_description: str | None = None
    ip_medium: str | None = None
    ip_type: str | None = None
    training_version: str | None = None
    status: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


class Image(TailorObject):
    id: int
    dataset_id: int | None = None
    caption: str | None = None
    caption_source: str | None = None
    caption_error: str | None = None
    upload_source_url: str | None = None
    image_name: str | None = None
    image_url: str | None = None
    thumbnail_url: str | None = None
    width: int | None = None
    height: int | None = None
    caption_state: str | None = None
    previous_caption: str | None = None
    upload_source: str | None = None
    file_size: int | None = None
    source_width: int | None = None
    source_height: int | None = None
    upscaled: bool | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def caption_json(self) -> dict[str, Any] | None:
        """The caption parsed as a structured prompt (None until captioned)."""
        return json.loads(self.caption) if self.caption else None


class Dataset(TailorObject):
    id: int
    project_id: int | None = None
    name: str | None = None
    visual_schema: str | None = None
    status: str | None = None
    captions_update_status: str | None = None
    upload_type: str | None = None
    images_count: int | None = None
    images: list[Image] | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


class TrainingParameters(TailorObject):
    learning_rate: float | None = None
    lr_scheduler: str | None = None
    rank: int | None = None
    total_training_steps: int | None = None
    checkpoint_interval: int | None = None
    lr_warmup_steps: int | None = None


class TrainingProgress(TailorObject):
    """Tailor's addition on models while they train."""

    step: int | None = None
    total_steps: int | None = None
    loss: float | None = None
    eta_seconds: float | None = None
    sample_image_urls: list[str] = Field(default_factory=list)
    loss_history: list[list[float]] = Field(default_factory=list)  # [step, loss]
    learning_rate: float | None = None  # the rate the latest step used
    lr_schedule: list[list[float]] = Field(default_factory=list)  # [step, lr] of the whole run
    elapsed_seconds: float | None = None  # since training started (the total once it ended)
    seconds_per_step: float | None = None
    started_at: str | None = None
    sample_prompt: str | None = None  # what the checkpoint samples render, with ``sample_seed``
    sample_seed: int | None = None


class Model(TailorObject):
    id: int
    name: str | None = None
    description: str | None = None
    status: str | None = None
    training_mode: str | None = None
    training_version: str | None = None
    base_weights: str | None = None  # Tailor: the weights the adapter was trained on
    project_id: int | None = None
    dataset_id: int | None = None
    active_model_version: str | int | None = None
    training_parameters: TrainingParameters | dict[str, Any] | None = None
    checkpoint_steps: list[Any] | None = None
    training_progress: TrainingProgress | None = None
    error: str | None = None
    custom_metadata: str | None = None
    generation_prefix: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def is_training(self) -> bool:
        return self.status in ("InProgress", "Stopping")

    @property
    def is_terminal(self) -> bool:
        return self.status in ("Completed", "Failed", "Stopped", "Deleted")


class Checkpoint(TailorObject):
    checkpoint_step: int
    training_job_id: int | str | None = None
    created_at: datetime | None = None
    loss: float | None = None
    sample_image_url: str | None = None


class CheckpointList(TailorObject):
    checkpoints: list[Checkpoint] = Field(default_factory=list)
    active_model_version: str | int | None = None


class ModelDownload(TailorObject):
    download_url: str
    base_model_name: str | None = None
    base_model_card: str | None = None
    checkpoint_step: int | None = None  # Tailor: the checkpoint packaged (None: the final weights)


class EstimateBasis(TailorObject):
    source: str  # "measured" (this installation's runs), "default" (a stated figure) or "none"
    runs: int = 0
    device: str | None = None
    weights: str | None = None
    ranks: list[int] = Field(default_factory=list)
    description: str = ""


class TrainingEstimate(TailorObject):
    """Tailor: what a training run is expected to take, before it starts."""

    model_id: int
    training_parameters: TrainingParameters | None = None
    total_steps: int
    checkpoint_steps: list[int] = Field(default_factory=list)
    estimated_seconds: float | None = None
    seconds_per_step: float | None = None
    setup_seconds: float | None = None
    checkpoint_seconds: float | None = None
    checkpoint_bytes: int | None = None
    disk_bytes: int | None = None
    basis: EstimateBasis
    overrides: list[str] = Field(default_factory=list)  # development settings that change the run


class DatasetDownload(TailorObject):
    """Signed links to an advanced dataset's images (zip) and captions (JSON lines, when all are set)."""

    download_url: str
    captions_url: str | None = None


class LegacyImage(TailorObject):
    urls: list[str] = Field(default_factory=list)
    seed: int | None = None
    uuid: str | None = None


class LegacyResult(TailorObject):
    """The v1 answer of ``/v1/text-to-image/tailored/{model_id}``: one entry per image."""

    result: list[LegacyImage] = Field(default_factory=list)


class FailedImage(TailorObject):
    filename: str | None = None
    error_code: int | None = None
    error_message: str | None = None


class BulkUploadStatus(TailorObject):
    status: str
    progress_percentage: int | float | None = None
    total_processed: int | None = None
    done: int | None = None
    failed: int | None = None
    failed_images: list[FailedImage] = Field(default_factory=list)

    @property
    def is_terminal(self) -> bool:
        return self.status in ("completed", "failed")


class RequestAccepted(TailorObject):
    """202 answer of a v2 call: poll ``status_url`` (or use ``wait_for_request``)."""

    request_id: str
    status_url: str | None = None


class RequestStatus(TailorObject):
    """``GET /v2/status/{request_id}``."""

    status: str
    request_id: str | None = None
    result: dict[str, Any] | None = None
    error: Any = None
    progress: dict[str, Any] | None = None  # while IN_PROGRESS: stage, step, total_steps

    @property
    def is_terminal(self) -> bool:
        return self.status in ("COMPLETED", "ERROR", "NOT_FOUND")

    @property
    def error_message(self) -> str:
        if isinstance(self.error, dict):
            return str(self.error.get("message") or self.error)
        return str(self.error or "unknown error")


class GenerationResult(TailorObject):
    """A finished v2 request: ``image_url`` / ``structured_prompt`` / ``video_url``, ``seed``."""

    request_id: str | None = None
    result: dict[str, Any] = Field(default_factory=dict)

    def _get(self, key: str) -> Any:
        return self.result.get(key, (self.model_extra or {}).get(key))

    @property
    def image_url(self) -> str | None:
        return self._get("image_url")

    @property
    def video_url(self) -> str | None:
        return self._get("video_url")

    @property
    def structured_prompt(self) -> str | None:
        return self._get("structured_prompt")

    @property
    def seed(self) -> int | None:
        return self._get("seed")

    @property
    def parameters(self) -> dict[str, Any]:
        """Everything else that made the image (Tailor): aspect ratio, steps, guidance, negative
        prompt, model, influence and the checkpoint served."""
        return dict(self._get("parameters") or {})

    def recreate_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of ``generate`` that make this image again, byte for byte:
        ``t.generate(**result.recreate_kwargs())``."""
        p = self.parameters
        kwargs: dict[str, Any] = {"structured_prompt": self.structured_prompt, "seed": self.seed}
        names = {
            "tailored_model_id": "model_id",
            "aspect_ratio": "aspect_ratio",
            "tailored_model_influence": "influence",
            "negative_prompt": "negative_prompt",
            "guidance_scale": "guidance_scale",
            "steps_num": "steps_num",
        }
        for key, arg in names.items():
            if p.get(key) is not None:
                kwargs[arg] = p[key]
        version = p.get("model_version")
        if isinstance(version, int) and not isinstance(version, bool):  # a checkpoint, not "final"
            kwargs["checkpoint_step"] = version
        return kwargs


class Event(TailorObject):
    """One server-sent event: ``event`` name, ``data`` (parsed JSON when it is JSON), ``id``."""

    event: str = "message"
    data: Any = None
    id: str | None = None


class Health(TailorObject):
    status: str
    version: str | None = None


class Generation(TailorObject):
    """One entry of a project's generation history (Tailor): what made one image."""

    id: int
    request_id: str | None = None
    project_id: int | None = None
    model_id: int | None = None
    model_name: str | None = None
    model_version: str | None = None  # the checkpoint step that served it, or "final"
    model_status: str | None = None  # the model now (Deleted: it can no longer generate)
    endpoint: str | None = None
    prompt: str | None = None
    structured_prompt: str | None = None
    seed: int | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)
    image_url: str | None = None
    token_id: int | None = None
    created_at: datetime | None = None

    def recreate_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of ``generate`` that make this image again:
        ``t.generate(**entry.recreate_kwargs())``."""
        made = {"structured_prompt": self.structured_prompt, "seed": self.seed, "parameters": self.parameters}
        return GenerationResult(request_id=self.request_id, result=made).recreate_kwargs()


class GenerationPage(TailorObject):
    """One page of a project's generation history, newest first."""

    generations: list[Generation] = Field(default_factory=list)
    total: int = 0
    page: int = 1
    page_size: int = 20
