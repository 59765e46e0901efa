"""Scored checkpoints: a model's evaluation per checkpoint, the base reference, the best step.

The scores are written by the training job (``engine.evaluation``); this module reads them and
applies the best-checkpoint rule of ``domain.evaluation``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from tailor.domain import evaluation as rules
from tailor.domain.errors import Conflict, NotFound
from tailor.store import checkpoints as ckpt_store
from tailor.store import evaluations as store
from tailor.store import models as model_store
from tailor.store.tables import Checkpoint, Evaluation, TailoredModel


@dataclass
class ModelEvaluation:
    model: TailoredModel
    scorer: str | None
    base: Evaluation | None
    checkpoints: list[tuple[Checkpoint, Evaluation | None]]
    best_step: int | None


def _evaluation(session: Session, model: TailoredModel) -> ModelEvaluation:
    rows = ckpt_store.list_checkpoints(session, model.id)
    evals = store.checkpoint_evaluations(session, model.id)
    scorer = evals[-1].scorer if evals else None  # the latest run's scoring models
    by_step = {e.checkpoint_step: e for e in evals if e.scorer == scorer}
    base = store.base_reference(session, model.dataset_id, scorer) if scorer else None
    pairs = [(c, by_step.get(c.checkpoint_step)) for c in sorted(rows, key=lambda c: c.checkpoint_step)]
    best = rules.best_checkpoint(
        base.scores if base else None,
        [(c.checkpoint_step, e.scores if e is not None and not e.error else None) for c, e in pairs],
    )
    return ModelEvaluation(model, scorer, base, pairs, best)


def model_evaluation(session: Session, organization_id: int, model_id: int) -> ModelEvaluation:
    """``GET /models/{id}/evaluation``."""
    model = model_store.get_model(session, organization_id, model_id)
    if model is None:
        raise NotFound(f"model {model_id} not found")
    return _evaluation(session, model)


def best_step(session: Session, model: TailoredModel) -> int:
    """The suggested checkpoint's step, for ``active_model_version: "best"``."""
    view = _evaluation(session, model)
    if view.best_step is None:
        if not any(e is not None and e.scores for _, e in view.checkpoints):
            raise Conflict(
                "active_model_version: no checkpoint of this model was scored (set TAILOR_EVAL_MODELS "
                "before training to score checkpoints)",
                field="active_model_version",
            )
        raise Conflict(
            f"active_model_version: no checkpoint qualifies as best ({rules.BEST_RULE})",
            field="active_model_version",
        )
    return view.best_step


def render_scores(scores: dict[str, Any] | None) -> dict[str, Any] | None:
    return dict(scores) if scores else None
