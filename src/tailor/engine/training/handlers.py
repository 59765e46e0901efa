"""The ``train_model`` job kind: runs in a supervised child process (killable on stop)."""

from __future__ import annotations

from typing import Any

from tailor.jobs.handlers import JobContext, PermanentJobError, handler


@handler("train_model", isolated=True)
def train_model(ctx: JobContext, payload: dict[str, Any]) -> dict[str, Any]:
    """Train (or resume training) the LoRA adapter of ``payload["model_id"]``."""
    from tailor.engine.training.job import TrainingJob

    try:
        model_id = int(payload["model_id"])
    except (KeyError, TypeError, ValueError):
        raise PermanentJobError("payload needs an integer model_id") from None
    return TrainingJob(ctx, model_id).run()
