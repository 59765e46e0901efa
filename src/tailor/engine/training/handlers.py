"""The ``train_model`` job kind: runs in a supervised child process (killable on stop)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from tailor.jobs.handlers import JobContext, PermanentJobError, handler, on_failure
from tailor.services import models as model_service
from tailor.store import models as model_store
from tailor.store.tables import Job


@handler("train_model", isolated=True)
def train_model(ctx: JobContext, payload: dict[str, Any]) -> dict[str, Any]:
    """Train (or resume training) the LoRA adapter of ``payload["model_id"]``."""
    from tailor.engine.training.job import TrainingJob

    try:
        model_id = int(payload["model_id"])
    except (KeyError, TypeError, ValueError):
        raise PermanentJobError("payload needs an integer model_id") from None
    return TrainingJob(ctx, model_id).run()


@on_failure("train_model")
def training_job_ended(session: Session, job: Job) -> None:
    """The job failed for good or was cancelled (stop_training, a killed child): settle the model."""
    model = model_store.get_model_by_id(session, int((job.payload or {}).get("model_id", 0)))
    if model is not None and model.job_id == job.id:
        model_service.settle(model, job)
