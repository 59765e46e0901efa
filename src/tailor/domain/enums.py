"""Enumerations of the contract (values are the wire strings)."""

from __future__ import annotations

from enum import StrEnum


class IpMedium(StrEnum):
    photography = "photography"
    illustration = "illustration"


class IpType(StrEnum):
    multi_object_set = "multi_object_set"
    object_variants = "object_variants"
    icons = "icons"
    defined_character = "defined_character"
    character_variants = "character_variants"
    stylized_scene = "stylized_scene"
    other = "other"


ILLUSTRATION_ONLY_IP_TYPES = frozenset(
    {IpType.object_variants, IpType.multi_object_set, IpType.icons, IpType.character_variants}
)


class ProjectStatus(StrEnum):
    active = "active"


class DatasetStatus(StrEnum):
    draft = "draft"
    completed = "completed"


class CaptionsUpdateStatus(StrEnum):
    empty = "empty"
    in_progress = "in_progress"
    completed = "completed"


class UploadType(StrEnum):
    basic = "basic"
    advanced = "advanced"


class CaptionSource(StrEnum):
    automatic = "automatic"
    manual = "manual"
    pending = "pending"


class CaptionState(StrEnum):
    """Tailor: where an image's caption stands (one state per image), for filtering the images list.
    ``failed``: the last caption attempt failed (an older caption may be kept); ``missing``: no
    caption and none coming."""

    missing = "missing"
    automatic = "automatic"
    manual = "manual"
    pending = "pending"
    failed = "failed"


def caption_state(caption: str | None, source: str | None, error: str | None) -> CaptionState:
    if source == CaptionSource.pending:
        return CaptionState.pending
    if error:
        return CaptionState.failed
    if caption is None:
        return CaptionState.missing
    return CaptionState.manual if source == CaptionSource.manual else CaptionState.automatic


class UploadSource(StrEnum):
    """Tailor: how an image arrived."""

    upload = "upload"
    zip = "zip"
    url = "url"


class BulkUploadStatus(StrEnum):
    pending = "pending"
    processing = "processing"
    completed = "completed"
    failed = "failed"


class ModelStatus(StrEnum):
    Created = "Created"
    InProgress = "InProgress"
    Completed = "Completed"
    Failed = "Failed"
    Stopping = "Stopping"
    Stopped = "Stopped"
    Syncing = "Syncing"  # an uploaded LoRA being fetched and checked (upload_model)
    Deleted = "Deleted"  # deleted: the record stays, its files are gone


class TrainingMode(StrEnum):
    fully_automated = "fully_automated"
    expert = "expert"


class LrScheduler(StrEnum):
    linear = "linear"
    cosine = "cosine"
    cosine_with_restarts = "cosine_with_restarts"
    polynomial = "polynomial"
    constant = "constant"
    constant_with_warmup = "constant_with_warmup"


class JobState(StrEnum):
    queued = "queued"
    running = "running"
    completed = "completed"
    failed = "failed"
    cancelled = "cancelled"


TERMINAL_JOB_STATES = frozenset({JobState.completed, JobState.failed, JobState.cancelled})


class RequestStatus(StrEnum):
    """v2 status values as clients see them."""

    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    ERROR = "ERROR"
    UNKNOWN = "UNKNOWN"


class AspectRatio(StrEnum):
    r1_1 = "1:1"
    r2_3 = "2:3"
    r3_2 = "3:2"
    r3_4 = "3:4"
    r4_3 = "4:3"
    r4_5 = "4:5"
    r5_4 = "5:4"
    r9_16 = "9:16"
    r16_9 = "16:9"
