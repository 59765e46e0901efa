"""Kind ``UPLOAD_MODEL``: fetch an uploaded LoRA, check it against the served transformer, store it.

The file is fetched through the same URL guard as ``image_url`` (public addresses only, size and
time caps), its safetensors header is checked against the base model's linear layers
(``engine.lora_import``) before any tensor is read, and the adapter is stored in the diffusers
layout under a fresh run folder of the model. The model becomes ``Completed`` in a transaction
fenced by the job's lease; a refused file fails the job for good (422) and the failure hook marks
the model ``Failed`` with the reason.

Result: ``{"model_id", "adapter_key", "rank", "layout"}``.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from tailor.domain import models as rules
from tailor.domain.enums import ModelStatus
from tailor.domain.jobs import PermanentJobError, UploadModel
from tailor.engine.lora_import import LoraRejected, check_file, linear_shapes, write_adapter
from tailor.engine.pipeline import BaseModelUnavailable
from tailor.infra.safe_fetch import fetch_to_file
from tailor.jobs.context import JobContext
from tailor.services.model_upload import upload_failed
from tailor.store.db import session_scope
from tailor.store.leases import fenced
from tailor.store.models import get_model_by_id
from tailor.store.tables import Job, TailoredModel


def _syncing(s: Session, ctx: JobContext, model_id: int) -> TailoredModel:
    model = get_model_by_id(s, model_id)
    if model is None or model.organization_id != ctx.organization_id:
        raise PermanentJobError(f"model {model_id} no longer exists", code=404)
    if model.status != ModelStatus.Syncing:
        raise PermanentJobError(f"model {model_id} is {model.status}, not Syncing", code=409)
    return model


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def upload_model(ctx: JobContext, payload: UploadModel) -> dict[str, Any]:
    with session_scope(ctx.sessions) as s:
        model = _syncing(s, ctx, payload.model_id)
        url, prefix = model.source_url or "", model.blob_prefix
    ctx.progress(stage="fetching")
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "upload.safetensors", Path(tmp) / "adapter.safetensors"
        with src.open("wb") as f:
            fetch_to_file(
                url,
                f,
                allow_private=ctx.settings.allow_private_urls,
                max_bytes=ctx.settings.max_model_upload_bytes,
                timeout_s=ctx.settings.model_fetch_timeout_s,
                field="model_url",
            )
        ctx.progress(stage="checking")
        try:
            gen = ctx.resources.generator()
        except BaseModelUnavailable as e:
            raise PermanentJobError(str(e), code=503) from e
        try:
            info = check_file(
                str(src), linear_shapes(gen.pipe.transformer), max_rank=ctx.settings.max_uploaded_lora_rank
            )
            write_adapter(str(src), info, str(dst))
        except LoraRejected as e:
            raise PermanentJobError(f"model_url: not a LoRA for the served base model: {e}", code=422) from e
        key = rules.final_adapter_key(prefix, rules.new_run_id())
        sha = _sha256(dst)
        with dst.open("rb") as f:
            ctx.blobs.put_file(key, f, content_type="application/octet-stream")
    try:
        with fenced(ctx.sessions, ctx.lease) as s:
            model = _syncing(s, ctx, payload.model_id)
            model.adapter_key, model.adapter_sha256 = key, sha
            model.training_parameters = {"rank": info.rank}
            model.error = None
            model.status = rules.transition(model.status, ModelStatus.Completed)
    except BaseException:
        ctx.blobs.delete(key)
        raise
    return {"model_id": payload.model_id, "adapter_key": key, "rank": info.rank, "layout": info.layout}


def upload_ended(session: Session, job: Job) -> None:
    """Failure hook (see ``services.model_upload.upload_failed``)."""
    upload_failed(session, job)
