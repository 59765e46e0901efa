"""Dataset rules: the draft -> completed state machine, the frozen completed dataset, image caps."""

from __future__ import annotations

from tailor.domain.enums import DatasetStatus, ModelStatus, UploadType
from tailor.domain.errors import Conflict, InvalidInput, PreconditionFailed

MIN_IMAGES_TO_COMPLETE = 5
TRAINING_STATUSES = frozenset({ModelStatus.InProgress, ModelStatus.Stopping})  # hold their dataset


def check_editable(status: str, action: str) -> None:
    """A completed dataset is frozen: uploads, caption edits, schema changes, deletes answer 409."""
    if status == DatasetStatus.completed:
        raise Conflict(f"the dataset is completed and can no longer change ({action}); clone it to edit")


def check_transition(current: str, target: str) -> bool:
    """Whether the status changes; completed never goes back to draft. Whether a draft may be
    completed is :func:`completion_problems`'s to say."""
    if target not in (DatasetStatus.draft, DatasetStatus.completed):
        raise InvalidInput("status must be draft or completed", field="status")
    if current == target:
        return False
    if current == DatasetStatus.completed:
        raise Conflict("a completed dataset cannot go back to draft; clone it to edit")
    return True


def completion_problems(
    images_count: int, *, has_schema: bool, pending_captions: int, missing_captions: int
) -> list[str]:
    """What keeps a draft from being completed, i.e. from being trainable: each a phrase that
    says what is missing and how to fix it (empty: it can be completed)."""
    problems: list[str] = []
    if images_count < MIN_IMAGES_TO_COMPLETE:
        problems.append(f"it needs at least {MIN_IMAGES_TO_COMPLETE} images (it has {images_count})")
    if not has_schema:
        problems.append("it has no visual_schema (set one, or generate it from the images)")
    if pending_captions:
        problems.append(
            f"{pending_captions} image(s) are still being captioned (wait for captioning to finish)"
        )
    if missing_captions:
        problems.append(
            f"{missing_captions} image(s) have no caption (regenerate their captions or write them)"
        )
    return problems


def check_can_complete(problems: list[str]) -> None:
    """409 naming everything that is missing, so one answer says all there is to fix."""
    if problems:
        raise Conflict(
            "the dataset cannot be completed yet, as a model could not train on it: " + "; ".join(problems),
            field="status",
        )


def max_images(upload_type: str, *, basic: int, advanced: int) -> int:
    return advanced if upload_type == UploadType.advanced else basic


def check_room(images_count: int, adding: int, limit: int) -> None:
    """Refuse (409) an upload that would take the dataset past its cap."""
    if images_count + adding > limit:
        raise Conflict(f"the dataset is full: at most {limit} images (it has {images_count})")


def check_single_upload(upload_type: str) -> None:
    if upload_type != UploadType.basic:
        raise Conflict("single image uploads are for basic datasets; use bulk-upload for advanced ones")


def check_bulk_upload(upload_type: str, images_count: int, previous_status: str | None) -> None:
    """Bulk upload: advanced datasets only, empty, with no other bulk upload (a failed one may retry)."""
    if upload_type != UploadType.advanced:
        raise Conflict("bulk upload is for advanced datasets; upload images one by one to basic ones")
    if previous_status is not None and previous_status != "failed":
        raise Conflict("this dataset already had a bulk upload")
    if images_count > 0:
        raise Conflict("bulk upload needs an empty dataset")


def check_has_schema(visual_schema: str | None) -> None:
    if not visual_schema:
        raise PreconditionFailed("the dataset has no visual_schema: set one before asking for captions")
