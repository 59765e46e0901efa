"""Scored checkpoints: at every checkpoint, render the validation set and score it.

Called once per checkpoint by the training job (``evaluate_checkpoint``), after the checkpoint is
recorded. With ``TAILOR_EVAL_MODELS`` off it does nothing. Otherwise it renders the validation set
(``domain.evaluation.validation_set``: prompts from the visual schema in new contexts, fixed seeds)
with the adapter as it is at that step, stores the outputs as one grid image under the model's
``evaluations/`` folder, and records DINO, CLIP-I, CLIP-T and memorisation (``engine.scoring``).
The base model's scores for the dataset are computed once per dataset and scoring models (the
first training that finds none renders the same set with its adapter switched off).

Scoring never fails the training: any error is logged and recorded on the evaluation (``error``),
and the run goes on. Only a cancel and a lost lease stop it, as they stop everything else.
"""

from __future__ import annotations

import io
import logging
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from tailor.domain import evaluation as rules
from tailor.domain.jobs import JobCancelled
from tailor.engine.scoring import Reference, Scorer, parse_eval_models, reference, score
from tailor.jobs.context import JobContext
from tailor.store import evaluations as eval_store
from tailor.store import models as model_store
from tailor.store.db import session_scope
from tailor.store.leases import LeaseLost, fenced

log = logging.getLogger(__name__)

EVALUATIONS_DIR = "evaluations/"
REFERENCE_SIDE = 256  # dataset images are reduced to this before scoring (the processors resize anyway)
REFERENCE_BATCH = 32  # dataset images decoded and embedded at a time
MAX_REFERENCE_IMAGES = 512  # a larger dataset is represented by this many, evenly spaced


@dataclass
class _State:
    """What one run keeps between its checkpoints: the scorer, the dataset's embeddings, the set."""

    run_id: str
    scorer: Scorer
    dataset_id: int
    ref: Reference
    items: list[rules.ValidationItem]


_state: dict[str, _State] = {}  # by run id; a training job's child process holds one run


@contextmanager
def _encoders_on(pipe: Any, device: str) -> Any:
    if not device.startswith("cuda"):
        yield
        return
    pipe.text_encoder.to(device)
    pipe.vae.to(device)
    try:
        yield
    finally:
        pipe.text_encoder.to("cpu")
        pipe.vae.to("cpu")


def _load_state(ctx: JobContext, model_id: int, run_id: str) -> _State | None:
    st = ctx.settings
    models = parse_eval_models(st.eval_models, st.models_dir)
    if models is None:
        return None
    cached = _state.get(run_id)
    if cached is not None:
        return cached
    from PIL import Image

    scorer = Scorer(models)
    with session_scope(ctx.sessions) as s:
        model = model_store.get_model_by_id(s, model_id)
        if model is None or model.dataset_id is None:  # an uploaded adapter has no dataset
            return None
        dataset_id, schema = model.dataset_id, model.visual_schema
        rows = model_store.dataset_images(s, dataset_id)
        keys = [r.blob_key for r in rows]
        caption = next((r.caption for r in rows if r.caption), None)
    if len(keys) > MAX_REFERENCE_IMAGES:  # evenly spaced over the dataset
        keys = [keys[i * len(keys) // MAX_REFERENCE_IMAGES] for i in range(MAX_REFERENCE_IMAGES)]
    parts = []
    for start in range(0, len(keys), REFERENCE_BATCH):  # embeddings kept, pixels dropped per batch
        images = []
        for key in keys[start : start + REFERENCE_BATCH]:
            with Image.open(io.BytesIO(ctx.blobs.get(key))) as im:
                small = im.convert("RGB")
                small.thumbnail((REFERENCE_SIDE, REFERENCE_SIDE))
                images.append(small)
        parts.append(reference(scorer, images))
    import torch

    ref = Reference(clip=torch.cat([p.clip for p in parts]), dino=torch.cat([p.dino for p in parts]))
    state = _State(
        run_id=run_id,
        scorer=scorer,
        dataset_id=dataset_id,
        ref=ref,
        items=rules.validation_set(schema, caption, st.eval_prompts),
    )
    _state.clear()
    _state[run_id] = state
    return state


def render_set(
    trainer: Any, items: list[rules.ValidationItem], size: tuple[int, int], steps: int, device: str
) -> list[Any]:
    """The validation outputs with the adapter as it is now (one per item, at its seed)."""
    with _encoders_on(trainer.pipe, device):
        return [trainer.sample(item.prompt, size=size, steps=steps, seed=item.seed) for item in items]


def grid_png(images: list[Any]) -> bytes:
    """The outputs side by side, in the validation set's order."""
    from PIL import Image

    w, h = images[0].size
    grid = Image.new("RGB", (w * len(images), h))
    for i, im in enumerate(images):
        grid.paste(im.convert("RGB"), (i * w, 0))
    buf = io.BytesIO()
    grid.save(buf, format="PNG")
    return buf.getvalue()


@contextmanager
def _adapter_off(trainer: Any) -> Any:
    trainer.transformer.disable_adapters()
    try:
        yield
    finally:
        trainer.transformer.enable_adapters()


def _record(ctx: JobContext, grid_key: str | None, grid: bytes | None, **values: Any) -> None:
    """Store the grid, then the row under the attempt's lease (the grid goes if the row cannot)."""
    if grid_key and grid is not None:
        ctx.blobs.put(grid_key, grid, "image/png")
    try:
        with fenced(ctx.sessions, ctx.lease) as s:
            eval_store.save_evaluation(s, grid_keys=[grid_key] if grid_key else [], **values)
    except BaseException:
        if grid_key:
            ctx.blobs.delete(grid_key)
        raise


def _scored(state: _State, outputs: list[Any]) -> dict[str, Any]:
    scores = score(state.scorer, state.ref, outputs, [i.text for i in state.items])
    scores["seeds"] = [i.seed for i in state.items]
    scores["prompts"] = [i.text for i in state.items]
    return scores


def evaluate_checkpoint(
    ctx: JobContext,
    *,
    model_id: int,
    blob_prefix: str,
    run_id: str,
    trainer: Any,
    step: int,
    size: tuple[int, int],
    device: str,
) -> None:
    """Score the checkpoint of ``step`` (and the base model once per dataset). Never raises but
    for a cancel or a lost lease."""
    state: _State | None = None
    scorer_name = ctx.settings.eval_models
    dataset_id: int | None = None
    try:
        state = _load_state(ctx, model_id, run_id)
        if state is None:
            return
        scorer_name, dataset_id = state.scorer.name, state.dataset_id
        steps = ctx.settings.training_sample_steps
        with session_scope(ctx.sessions) as s:
            has_base = eval_store.base_reference(s, state.dataset_id, scorer_name) is not None
        if not has_base:
            with _adapter_off(trainer):
                base_out = render_set(trainer, state.items, size, steps, device)
            _record(
                ctx,
                f"{blob_prefix}{EVALUATIONS_DIR}base-{run_id}.png",
                grid_png(base_out),
                dataset_id=state.dataset_id,
                model_id=model_id,
                checkpoint_step=None,
                scorer=scorer_name,
                scores=_scored(state, base_out),
            )
        outputs = render_set(trainer, state.items, size, steps, device)
        _record(
            ctx,
            f"{blob_prefix}{EVALUATIONS_DIR}{step:06d}-{run_id}.png",
            grid_png(outputs),
            dataset_id=state.dataset_id,
            model_id=model_id,
            checkpoint_step=step,
            scorer=scorer_name,
            scores=_scored(state, outputs),
            error=None,
        )
    except (JobCancelled, LeaseLost):
        raise
    except Exception as e:
        log.warning("model %s: scoring checkpoint %s failed; training goes on", model_id, step, exc_info=True)
        try:
            if dataset_id is None:
                with session_scope(ctx.sessions) as s:
                    model = model_store.get_model_by_id(s, model_id)
                    dataset_id = model.dataset_id if model is not None else None
            if dataset_id is not None:
                _record(
                    ctx,
                    None,
                    None,
                    dataset_id=dataset_id,
                    model_id=model_id,
                    checkpoint_step=step,
                    scorer=scorer_name or "",
                    scores=None,
                    error=f"{type(e).__name__}: {e}"[:2000],
                )
        except (JobCancelled, LeaseLost):
            raise
        except Exception:
            log.warning("model %s: could not record the scoring error", model_id, exc_info=True)
