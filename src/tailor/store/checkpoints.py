"""Checkpoints of a model's training run, and which adapter a model serves."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tailor.store.tables import Checkpoint, TailoredModel


def list_checkpoints(session: Session, model_id: int) -> list[Checkpoint]:
    """A model's checkpoints, latest step first."""
    q = select(Checkpoint).where(Checkpoint.model_id == model_id)
    return list(session.scalars(q.order_by(Checkpoint.checkpoint_step.desc())))


def get_checkpoint(session: Session, model_id: int, step: int) -> Checkpoint | None:
    return session.scalar(
        select(Checkpoint).where(Checkpoint.model_id == model_id, Checkpoint.checkpoint_step == step)
    )


def latest_checkpoint(session: Session, model_id: int) -> Checkpoint | None:
    """The checkpoint with the highest step that holds resumable training state."""
    q = select(Checkpoint).where(Checkpoint.model_id == model_id, Checkpoint.state_key.is_not(None))
    return session.scalar(q.order_by(Checkpoint.checkpoint_step.desc()).limit(1))


def checkpoint_steps(session: Session, model_id: int) -> list[int]:
    q = select(Checkpoint.checkpoint_step).where(Checkpoint.model_id == model_id)
    return list(session.scalars(q.order_by(Checkpoint.checkpoint_step.desc())))


def steps_by_model(session: Session, model_ids: list[int]) -> dict[int, list[int]]:
    """Checkpoint steps (latest first) of several models at once."""
    out: dict[int, list[int]] = {mid: [] for mid in model_ids}
    if not model_ids:
        return out
    q = (
        select(Checkpoint.model_id, Checkpoint.checkpoint_step)
        .where(Checkpoint.model_id.in_(model_ids))
        .order_by(Checkpoint.checkpoint_step.desc())
    )
    for mid, step in session.execute(q):
        out[mid].append(step)
    return out


def save_checkpoint(session: Session, model_id: int, step: int, **values: Any) -> Checkpoint:
    """Record a checkpoint (replacing the row of the same step, as a resumed run rewrites it)."""
    row = get_checkpoint(session, model_id, step)
    if row is None:
        row = Checkpoint(model_id=model_id, checkpoint_step=step, **values)
        session.add(row)
    else:
        for k, v in values.items():
            setattr(row, k, v)
    session.flush()
    return row


def delete_checkpoint(session: Session, row: Checkpoint) -> None:
    session.delete(row)
    session.flush()


@dataclass(frozen=True)
class ServingAdapter:
    """The adapter file a model serves and its content hash (None for files from before hashes)."""

    key: str
    sha256: str | None
    version: int | None = None  # the checkpoint step served; None: the final weights


def serving_adapter(session: Session, model: TailoredModel) -> ServingAdapter | None:
    """The adapter to serve: the active checkpoint's, else the model's final adapter."""
    if model.active_model_version is not None:
        row = get_checkpoint(session, model.id, model.active_model_version)
        if row is not None:
            return ServingAdapter(row.adapter_key, row.adapter_sha256, row.checkpoint_step)
    if model.adapter_key is None:
        return None
    return ServingAdapter(model.adapter_key, model.adapter_sha256)


def adapter_at(session: Session, model: TailoredModel, step: int | None) -> ServingAdapter | None:
    """The adapter of checkpoint ``step`` of ``model`` (None when it has none), or the served one
    when ``step`` is None."""
    if step is None:
        return serving_adapter(session, model)
    row = get_checkpoint(session, model.id, step)
    if row is None or not row.adapter_key:
        return None
    return ServingAdapter(row.adapter_key, row.adapter_sha256, row.checkpoint_step)


def live_adapter_keys(session: Session, keys: list[str]) -> set[str]:
    """Which of ``keys`` a model or checkpoint record still references."""
    if not keys:
        return set()
    found = set(session.scalars(select(Checkpoint.adapter_key).where(Checkpoint.adapter_key.in_(keys))))
    found.update(
        session.scalars(select(TailoredModel.adapter_key).where(TailoredModel.adapter_key.in_(keys)))
    )
    return {k for k in found if k}
