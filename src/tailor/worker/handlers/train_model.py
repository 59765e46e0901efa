"""Kind ``TRAIN_MODEL``: trains (or resumes) a model's LoRA adapter, in a supervised child process."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from tailor.domain.jobs import TrainModel
from tailor.engine.training.job import TrainingJob
from tailor.jobs.context import JobContext
from tailor.services import models as model_service
from tailor.store import models as model_store
from tailor.store.tables import Job


def train_model(ctx: JobContext, payload: TrainModel) -> dict[str, Any]:
    return TrainingJob(ctx, payload.model_id).run()


def training_ended(session: Session, job: Job) -> None:
    """Failure hook: the job failed for good or was cancelled (stop_training, a killed child)."""
    model = model_store.get_model_by_id(session, int((job.payload or {}).get("model_id", 0)))
    if model is not None and model.job_id == job.id:
        model_service.settle(model, job)
