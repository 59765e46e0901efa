"""Kind ``EXPORT_DATASET``: zip a large advanced dataset for download (``services.dataset_export``).

Result: ``{"zip_key"}``.
"""

from __future__ import annotations

from typing import Any

from tailor.domain.jobs import ExportDataset, PermanentJobError
from tailor.jobs.context import JobContext
from tailor.services.dataset_export import run_export


def export_dataset(ctx: JobContext, payload: ExportDataset) -> dict[str, Any]:
    if ctx.organization_id is None:
        raise PermanentJobError("export_dataset needs the job's organization", code=500)
    ctx.progress(stage="zipping")
    return {"zip_key": run_export(ctx, ctx.organization_id, payload.dataset_id)}
