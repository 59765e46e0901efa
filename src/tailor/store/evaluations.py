"""Evaluations: the scores of each checkpoint's validation set and the base model's reference."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tailor.store.tables import Evaluation


def save_evaluation(session: Session, **values: Any) -> Evaluation:
    """Record one evaluation (replacing the model's row of the same step and scorer)."""
    row = None
    if values.get("checkpoint_step") is not None:
        row = session.scalar(
            select(Evaluation).where(
                Evaluation.model_id == values["model_id"],
                Evaluation.checkpoint_step == values["checkpoint_step"],
                Evaluation.scorer == values["scorer"],
            )
        )
    if row is None:
        row = Evaluation(**values)
        session.add(row)
    else:
        for k, v in values.items():
            setattr(row, k, v)
    session.flush()
    return row


def base_reference(session: Session, dataset_id: int, scorer: str) -> Evaluation | None:
    """The base model's scores for a dataset with these scoring models (the first one recorded
    without error). Its row belongs to the model whose training computed it (``model_id``)."""
    q = (
        select(Evaluation)
        .where(
            Evaluation.dataset_id == dataset_id,
            Evaluation.scorer == scorer,
            Evaluation.checkpoint_step.is_(None),
            Evaluation.error.is_(None),
        )
        .order_by(Evaluation.id)
        .limit(1)
    )
    return session.scalar(q)


def base_references(session: Session, dataset_id: int) -> list[Evaluation]:
    q = select(Evaluation).where(Evaluation.dataset_id == dataset_id, Evaluation.checkpoint_step.is_(None))
    return list(session.scalars(q.order_by(Evaluation.id)))


def checkpoint_evaluations(session: Session, model_id: int) -> list[Evaluation]:
    q = select(Evaluation).where(Evaluation.model_id == model_id, Evaluation.checkpoint_step.is_not(None))
    return list(session.scalars(q.order_by(Evaluation.checkpoint_step, Evaluation.id)))
