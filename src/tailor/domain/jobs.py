"""Every kind of background job, declared once: name, typed payload, priority class, retry policy.

The code that enqueues a job and the handler that runs it share one :class:`JobKind`::

    enqueue(session, GENERATE_IMAGE, GenerateImage(seed=7, prompt="a cat"), organization_id=1)

    @registry.handles(GENERATE_IMAGE)
    def generate_image(ctx: JobContext, payload: GenerateImage) -> dict: ...

Payload defaults are stated here and nowhere else. Whether a failure is retried is decided in one
place, :func:`classify`, from the error alone (so a VLM outage is treated the same way by every
kind); how often and how far apart is the kind's :class:`RetryPolicy`.

To add a kind: a payload dataclass and a ``JobKind`` here (added to ``ALL_KINDS``), a handler module
in ``tailor/worker/handlers/`` and one registration line in ``tailor/worker/handlers/__init__.py``.
"""

from __future__ import annotations

import dataclasses
import random
import types
import typing
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import Any, Generic, TypeVar

from tailor.domain.errors import TailorError

# --- what stops a job ------------------------------------------------------------------------------


class JobCancelled(Exception):
    """Raised inside a handler when the job's cancel was requested."""


class PermanentJobError(Exception):
    """A failure that retrying cannot fix (bad input); the job fails at once with this message.

    ``code`` is the HTTP-like status shown in the request's ``error`` object (default 400).
    """

    def __init__(self, message: str, *, code: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class FailureKind(StrEnum):
    permanent = "permanent"  # bad input or a missing record: another attempt gives the same answer
    transient = "transient"  # an outage, a timeout, a crash: another attempt may succeed
    cancelled = "cancelled"  # stopped on request


@dataclass(frozen=True)
class Failure:
    kind: FailureKind
    code: int
    message: str

    @property
    def retryable(self) -> bool:
        return self.kind == FailureKind.transient


def describe(error: TailorError) -> str:
    """A domain error as one line, naming its field when the message does not."""
    if error.field and error.field not in error.message:
        return f"{error.field}: {error.message}"
    return error.message


def classify(error: BaseException) -> Failure:
    """The one rule for every kind: is this failure worth another attempt?

    - ``JobCancelled``: cancelled.
    - ``PermanentJobError`` and domain errors below 500 (invalid input, not found, conflict): permanent.
    - Domain errors of 500 and above (an upstream VLM or download outage is 502/503/504): transient.
    - Anything else (a bug, a lost connection, a crashed process): transient, code 500.
    """
    if isinstance(error, JobCancelled):
        return Failure(FailureKind.cancelled, 409, "cancelled")
    if isinstance(error, PermanentJobError):
        return Failure(FailureKind.permanent, error.code, error.message)
    if isinstance(error, TailorError):
        kind = FailureKind.transient if error.status >= 500 else FailureKind.permanent
        return Failure(kind, error.status, describe(error))
    return Failure(FailureKind.transient, 500, f"{type(error).__name__}: {error}")


# --- how often and how far apart -------------------------------------------------------------------


class Priority(IntEnum):
    """Claim order: lower first."""

    INTERACTIVE = 10  # generation, structured prompts, VLM calls a user waits on
    BACKGROUND = 50  # captions, bulk uploads
    LONG = 100  # training, video


@dataclass(frozen=True)
class RetryPolicy:
    """How many attempts a kind gets and how long to wait between them.

    ``max_attempts`` None takes the attempts from the setting named ``attempts_setting``; the delay
    before attempt n+1 is ``base * 2**(n-1)`` capped at ``max_backoff_s``, with ``base`` from
    ``backoff_setting`` and, when ``jitter`` is set, spread by ±``jitter`` so retries of many jobs
    do not arrive together.
    """

    max_attempts: int | None = None
    attempts_setting: str = "job_max_attempts"
    backoff_setting: str = "job_retry_backoff_s"
    max_backoff_s: float = 300.0
    jitter: float = 0.0
    backoff_s: float | None = None  # a fixed base instead of the setting

    def attempts(self, settings: Any) -> int:
        n = self.max_attempts if self.max_attempts is not None else getattr(settings, self.attempts_setting)
        return max(1, int(n))

    def delay_s(self, failed_attempts: int, settings: Any, rng: random.Random | None = None) -> float:
        """Seconds to wait after ``failed_attempts`` failed attempts."""
        base = (
            self.backoff_s if self.backoff_s is not None else float(getattr(settings, self.backoff_setting))
        )
        if base <= 0:
            return 0.0
        delay = min(base * 2 ** max(failed_attempts - 1, 0), self.max_backoff_s)
        if self.jitter:
            delay *= 1 + (rng or random).uniform(-self.jitter, self.jitter)
        return float(delay)


# --- payloads --------------------------------------------------------------------------------------

SEED_MAX = 2**32 - 1  # seeds are unsigned 32-bit integers, as Bria's API takes them
DEFAULT_STEPS = 50
DEFAULT_GUIDANCE = 5.0
DEFAULT_ASPECT_RATIO = "1:1"


@dataclass(frozen=True)
class GenerateImage:
    """One image: with a tailored model (``model_id``) or the base model (None)."""

    seed: int
    model_id: int | None = None
    prompt: str | None = None
    structured_prompt: str | None = None
    image_keys: list[str] = field(default_factory=list)  # reference images, in the blob store
    image_urls: list[str] = field(default_factory=list)  # reference images, fetched by the worker
    negative_prompt: str | None = None
    guidance_scale: float = DEFAULT_GUIDANCE
    aspect_ratio: str = DEFAULT_ASPECT_RATIO
    steps_num: int = DEFAULT_STEPS
    influence: float = 1.0
    output_type: str = "png"
    checkpoint_step: int | None = None  # this checkpoint of the model instead of its served version
    moderate_input: bool = False  # visual_input_content_moderation (when a moderation model is set)
    moderate_output: bool = False  # visual_output_content_moderation


@dataclass(frozen=True)
class EditImage:
    """One edit: ``instruction`` (a structured instruction, JSON with ``edit_instruction``) applied
    to ``images`` (in order, ``<image_1>``...), each a blob key of an inline image or an http(s)
    URL the worker fetches; ``mask`` the same for the region to regenerate. With a tailored model
    (``model_id``) or the base editing family (None)."""

    seed: int
    instruction: str
    images: list[str]
    family: str
    steps_num: int
    guidance_scale: float
    model_id: int | None = None
    mask: str | None = None
    negative_prompt: str | None = None
    influence: float = 1.0


@dataclass(frozen=True)
class StructuredPrompt:
    """Text and/or images (or a structured prompt to refine) -> a structured prompt."""

    seed: int
    prompt: str | None = None
    structured_prompt: str | None = None
    image_keys: list[str] = field(default_factory=list)
    image_urls: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class TailoredStructuredPrompt:
    """A structured prompt conditioned on a tailored model's visual schema."""

    seed: int
    prompt: str | None = None
    structured_prompt: str | None = None
    visual_schema: str | None = None


@dataclass(frozen=True)
class GenerateVideo:
    """A tailored model's image animated into a clip: the image is in the blob store or at a URL."""

    seed: int
    model_id: int
    image_key: str | None = None  # an inline image, kept in the blob store at submit
    image_url: str | None = None  # an image URL, fetched by the worker


@dataclass(frozen=True)
class CaptionImage:
    image_id: int
    dataset_id: int


@dataclass(frozen=True)
class BulkUpload:
    bulk_upload_id: int


@dataclass(frozen=True)
class TrainModel:
    model_id: int


@dataclass(frozen=True)
class DeliverWebhook:
    request_id: str


@dataclass(frozen=True)
class UploadModel:
    """Fetch an uploaded LoRA (the model's ``source_url``), check it, store it, complete the model."""

    model_id: int


@dataclass(frozen=True)
class StructuredPromptDiff:
    """A structured prompt that keeps the edits between two structured prompts (generate_from_diff)."""

    seed: int
    structured_prompt: str
    user_adjusted_structured_prompt: str


@dataclass(frozen=True)
class ExportDataset:
    """Build the download zip and captions file of an advanced dataset's current images."""

    dataset_id: int


# --- kinds -----------------------------------------------------------------------------------------

P = TypeVar("P")


class PayloadError(PermanentJobError):
    """A job row whose payload does not fit its kind."""


@dataclass(frozen=True)
class JobKind(Generic[P]):
    """A kind of job: the contract between the code that enqueues it and the handler that runs it."""

    name: str
    payload_type: type[P]
    priority: Priority
    retry: RetryPolicy = RetryPolicy()
    isolated: bool = False  # runs in a supervised child process that a cancel can kill

    def dump(self, payload: P) -> dict[str, Any]:
        """The payload as stored in the job row (JSON)."""
        if not isinstance(payload, self.payload_type):
            raise TypeError(f"{self.name} takes a {self.payload_type.__name__}, not {type(payload).__name__}")
        return dataclasses.asdict(payload)  # type: ignore[call-overload,no-any-return]

    def load(self, raw: dict[str, Any] | None) -> P:
        """The typed payload of a job row; unknown keys are ignored, a missing or mistyped one is a
        permanent failure of the job."""
        raw = raw or {}
        hints = typing.get_type_hints(self.payload_type)
        values: dict[str, Any] = {}
        for f in dataclasses.fields(self.payload_type):  # type: ignore[arg-type]
            if f.name not in raw:
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                    raise PayloadError(f"{self.name} payload: {f.name} is required", code=500)
                continue
            values[f.name] = _coerce(self.name, f.name, raw[f.name], hints[f.name])
        return self.payload_type(**values)


def _coerce(kind: str, name: str, value: Any, hint: Any) -> Any:
    """Check ``value`` against a payload field's type (JSON gives ints for floats, lists for lists)."""
    options = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    if value is None and type(None) in options:
        return None
    for option in options:
        origin = typing.get_origin(option) or option
        if origin is bool and isinstance(value, bool):
            return value
        if origin is float and isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if origin is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        if origin is str and isinstance(value, str):
            return value
        if origin is list and isinstance(value, list) and all(isinstance(v, str) for v in value):
            return list(value)
    raise PayloadError(f"{kind} payload: {name} has the wrong type ({type(value).__name__})", code=500)


GENERATE_IMAGE = JobKind("generate_image", GenerateImage, Priority.INTERACTIVE)
EDIT_IMAGE = JobKind("edit_image", EditImage, Priority.INTERACTIVE)
STRUCTURED_PROMPT = JobKind("structured_prompt", StructuredPrompt, Priority.INTERACTIVE)
TAILORED_STRUCTURED_PROMPT = JobKind(
    "structured_prompt_tailored", TailoredStructuredPrompt, Priority.INTERACTIVE
)
# Its own kind, so that a worker (`tailor worker --kinds generate_video`) can own a GPU for video.
GENERATE_VIDEO = JobKind("generate_video", GenerateVideo, Priority.LONG)
CAPTION_IMAGE = JobKind("caption_image", CaptionImage, Priority.BACKGROUND)
# An upload reads its archive once; a second attempt would add the images it already added.
BULK_UPLOAD = JobKind("bulk_upload", BulkUpload, Priority.BACKGROUND, RetryPolicy(max_attempts=1))
TRAIN_MODEL = JobKind("train_model", TrainModel, Priority.LONG, isolated=True)
# Webhooks retry over minutes to hours: a receiver that is down for a while still gets the event.
DELIVER_WEBHOOK = JobKind(
    "webhook",
    DeliverWebhook,
    Priority.INTERACTIVE,
    RetryPolicy(
        attempts_setting="webhook_max_attempts",
        backoff_setting="webhook_retry_backoff_s",
        max_backoff_s=3600.0,
        jitter=0.2,
    ),
)

# upload_model: the model_url fetch is a long download; an outage is retried like any other kind.
UPLOAD_MODEL = JobKind("upload_model", UploadModel, Priority.BACKGROUND)

STRUCTURED_PROMPT_DIFF = JobKind("structured_prompt_diff", StructuredPromptDiff, Priority.INTERACTIVE)
EXPORT_DATASET = JobKind("export_dataset", ExportDataset, Priority.BACKGROUND)

ALL_KINDS: tuple[JobKind[Any], ...] = (
    GENERATE_IMAGE,
    EDIT_IMAGE,
    STRUCTURED_PROMPT,
    TAILORED_STRUCTURED_PROMPT,
    GENERATE_VIDEO,
    CAPTION_IMAGE,
    BULK_UPLOAD,
    TRAIN_MODEL,
    DELIVER_WEBHOOK,
    UPLOAD_MODEL,
    EXPORT_DATASET,
    STRUCTURED_PROMPT_DIFF,
)
KINDS_BY_NAME: dict[str, JobKind[Any]] = {k.name: k for k in ALL_KINDS}


def kind_named(name: str) -> JobKind[Any]:
    try:
        return KINDS_BY_NAME[name]
    except KeyError:
        raise PermanentJobError(f"no job kind named {name!r}", code=500) from None
