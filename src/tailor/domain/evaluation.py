"""Checkpoint evaluation rules: the validation set, and which checkpoint Tailor suggests.

The validation set puts the IP in new contexts: each item keeps every field of the visual schema
(the IP) and replaces the per-image ones with a context the dataset is unlikely to hold, rendered
with a fixed seed. The same set, in the same order with the same seeds, is rendered at every
checkpoint and for the base model, so their scores compare.

**The best checkpoint** (``best_checkpoint``), among the checkpoints scored without error:

1. drop the memorised ones: an output whose nearest dataset image (DINO) is at least
   ``MEMORISATION_MAX`` similar, and more similar than the base model ever came
   (``memorisation > base + MEMORISATION_MARGIN``): a copy of a training image is not a tailoring;
2. drop those whose prompt adherence fell: ``clip_t`` more than ``CLIP_T_DROP`` below the base
   model's (the model stopped following prompts and only reproduces its dataset);
3. of the rest, the highest IP fidelity, ``(dino + clip_i) / 2``; on a tie, the earlier step
   (fewer steps, less overfitting).

No checkpoint left: there is no suggestion (and ``active_model_version: "best"`` says why).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

VALIDATION_CONTEXTS: tuple[str, ...] = (
    "on a wooden table in a sunlit kitchen",
    "in a snowy forest at dusk",
    "on a busy city street at night",
    "on a sandy beach under a clear blue sky",
    "in a cosy living room by a fireplace",
    "on a mountain top at sunrise",
    "floating in outer space among stars",
    "in a rainy alley with neon reflections",
)
VALIDATION_SEEDS: tuple[int, ...] = (101, 202, 303, 404, 505, 606, 707, 808)
MAX_VALIDATION_ITEMS = len(VALIDATION_SEEDS)

MEMORISATION_MAX = 0.95
MEMORISATION_MARGIN = 0.02
CLIP_T_DROP = 0.05

_PER_IMAGE = ("short_description", "background_setting", "text_render")


@dataclass(frozen=True)
class ValidationItem:
    prompt: str  # the structured prompt rendered (JSON)
    text: str  # the plain description CLIP-T compares the output with
    seed: int


def _subject(data: dict[str, Any]) -> str | None:
    objects = data.get("objects")
    if isinstance(objects, list) and objects and isinstance(objects[0], dict):
        desc = objects[0].get("description")
        if isinstance(desc, str) and desc.strip():
            return desc.strip()
    return None


def _load(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def validation_set(visual_schema: str | None, caption: str | None, n: int) -> list[ValidationItem]:
    """``n`` (at most ``MAX_VALIDATION_ITEMS``) prompts putting the IP in new contexts.

    The IP fields come from the visual schema, or, without one, from ``caption`` (a dataset
    caption) less its per-image fields.
    """
    base = _load(visual_schema) or {k: v for k, v in _load(caption).items() if k not in _PER_IMAGE}
    subject = _subject(base) or _subject(_load(caption)) or "the subject"
    items = []
    for context, seed in list(zip(VALIDATION_CONTEXTS, VALIDATION_SEEDS, strict=True))[: max(1, n)]:
        text = f"{subject} {context}"
        prompt = {**base, "short_description": text, "background_setting": context}
        items.append(ValidationItem(prompt=json.dumps(prompt, sort_keys=True), text=text, seed=seed))
    return items


def fidelity(scores: dict[str, Any]) -> float:
    return (float(scores["dino"]) + float(scores["clip_i"])) / 2


def best_checkpoint(
    base: dict[str, Any] | None, checkpoints: list[tuple[int, dict[str, Any] | None]]
) -> int | None:
    """The suggested step (see the module's rule), or None when no checkpoint qualifies."""
    candidates = []
    for step, scores in checkpoints:
        if not scores:
            continue
        memo = float(scores["memorisation"])
        if memo >= MEMORISATION_MAX and (
            base is None or memo > float(base["memorisation"]) + MEMORISATION_MARGIN
        ):
            continue
        if base is not None and float(scores["clip_t"]) < float(base["clip_t"]) - CLIP_T_DROP:
            continue
        candidates.append((-round(fidelity(scores), 6), step))
    return min(candidates)[1] if candidates else None


BEST_RULE = (
    "among checkpoints scored without error: drop memorised ones (an output at least "
    f"{MEMORISATION_MAX} DINO-similar to a dataset image, more than the base model came), drop those "
    f"whose CLIP-T fell more than {CLIP_T_DROP} below the base model's; of the rest the highest "
    "(DINO + CLIP-I) / 2, the earlier step on a tie"
)
