"""Kind ``BULK_UPLOAD``: reads an advanced dataset's zip archive into images (``services.bulk_upload``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from tailor.domain.jobs import BulkUpload
from tailor.jobs.context import JobContext
from tailor.services.bulk_upload import run_bulk_upload, settle_interrupted
from tailor.store.tables import Job


def bulk_upload(ctx: JobContext, payload: BulkUpload) -> dict[str, Any]:
    return run_bulk_upload(ctx, payload.bulk_upload_id, ctx)


def bulk_upload_ended(session: Session, job: Job) -> None:
    """Failure hook: the upload is marked failed, saying how many images it added."""
    settle_interrupted(session, int((job.payload or {}).get("bulk_upload_id", 0)), job.error)
