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


def check_transition(current: str, target: str, images_count: int) -> None:
    """draft -> completed needs at least 5 images; completed never goes back to draft."""
    if target not in (DatasetStatus.draft, DatasetStatus.completed):
        raise InvalidInput("status must be draft or completed", field="status")
    if current == target:
        return
    if current == DatasetStatus.completed:
        raise Conflict("a completed dataset cannot go back to draft; clone it to edit")
    if images_count < MIN_IMAGES_TO_COMPLETE:
        raise Conflict(
            f"a dataset needs at least {MIN_IMAGES_TO_COMPLETE} images to be completed "
            f"(it has {images_count})"
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
