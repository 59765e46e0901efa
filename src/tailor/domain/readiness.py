"""Dataset readiness rules: what the report flags, what blocks completion, and the verdict.

Every threshold is stated here once (see ``docs/readiness.md`` for the reasons):

- a near duplicate is a pair whose 64-bit perceptual hashes differ in at most
  ``NEAR_DUPLICATE_BITS`` bits (a resized, re-encoded or lightly edited copy is usually 0-4 apart;
  unrelated images about 32);
- an image is blurry or low-detail when the variance of its Laplacian, measured at 256 px on the
  longest side on the 0-255 grey scale, is below ``SHARPNESS_MIN``;
- an aspect ratio is extreme when the centre crop to its nearest training bucket drops more than
  ``CROP_WARN`` of the image, and blocking beyond ``CROP_BLOCK`` (the trainer would learn from
  less than half of it);
- a short description has fewer than ``SHORT_DESCRIPTION_MIN_WORDS`` words.

Blocking problems (completion answers 409 unless ``force``): captions that contradict the visual
schema's IP fields (the trainer would learn two answers for one field) and images the training crop
would cut in half. Everything else is a warning: a dataset with warnings can be trained.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum

NEAR_DUPLICATE_BITS = 6
SHARPNESS_MIN = 50.0
CROP_WARN = 0.20
CROP_BLOCK = 0.50
SHORT_DESCRIPTION_MIN_WORDS = 3
UPSCALED_SHARE_WARN = 0.5
MAX_NEAR_PAIRS = 1000  # pairs listed in the report; the count is always exact


class Severity(StrEnum):
    blocking = "blocking"
    warning = "warning"


class Verdict(StrEnum):
    ready = "ready"
    ready_with_warnings = "ready_with_warnings"
    not_ready = "not_ready"


class Flag(StrEnum):
    """Per-image flags."""

    exact_duplicate = "exact_duplicate"
    near_duplicate = "near_duplicate"
    blurry = "blurry"
    upscaled = "upscaled"
    extreme_aspect_ratio = "extreme_aspect_ratio"
    cropped_in_half = "cropped_in_half"
    caption_missing = "caption_missing"
    caption_failed = "caption_failed"
    caption_contradicts_schema = "caption_contradicts_schema"
    short_description = "short_description"
    not_measured = "not_measured"


BLOCKING_FLAGS = frozenset({Flag.caption_contradicts_schema, Flag.cropped_in_half})


@dataclass(frozen=True)
class Problem:
    """One finding of the report: a code, how serious, what to do, and the images concerned."""

    code: str
    severity: Severity
    message: str
    image_ids: list[int] = field(default_factory=list)


# How many images each ip_type needs for the trainer to separate the IP from everything else,
# and why. Below MIN_IMAGES_TO_COMPLETE (5) completion is refused anyway; below these it is a warning.
RECOMMENDED_IMAGES: dict[str, tuple[int, str]] = {
    "defined_character": (10, "one character needs several poses, angles and contexts to keep its identity"),
    "character_variants": (15, "variants share a style across several characters: each needs a few images"),
    "object_variants": (10, "the object's identity must be seen from several angles and variations"),
    "multi_object_set": (15, "a set of objects needs each kind of object more than once"),
    "icons": (15, "an icon style is learnt across many different subjects"),
    "stylized_scene": (15, "a scene style is learnt across many compositions and subjects"),
    "other": (10, "a general IP needs variety to separate it from the subjects it appears with"),
}
DEFAULT_RECOMMENDED = (10, "a tailored model needs variety to separate the IP from its subjects")


def recommended_images(ip_type: str | None) -> tuple[int, str]:
    return RECOMMENDED_IMAGES.get(ip_type or "", DEFAULT_RECOMMENDED)


# The trainer's aspect-ratio buckets (``engine.resolutions.FIBO_SIZES``, a test keeps them equal).
TRAINING_BUCKETS: tuple[str, ...] = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9")


def _ratio(name: str) -> float:
    w, h = name.split(":")
    return int(w) / int(h)


def nearest_bucket(width: int, height: int) -> str:
    """The training bucket an image falls into: the nearest aspect ratio (by log ratio)."""
    ratio = math.log(width / height)
    return min(TRAINING_BUCKETS, key=lambda name: abs(math.log(_ratio(name)) - ratio))


def crop_loss(width: int, height: int) -> float:
    """The share of the image a centre crop to its training bucket drops."""
    r_img, r_bucket = width / height, _ratio(nearest_bucket(width, height))
    return 1.0 - min(r_img, r_bucket) / max(r_img, r_bucket)


def verdict(problems: list[Problem]) -> Verdict:
    if any(p.severity == Severity.blocking for p in problems):
        return Verdict.not_ready
    if problems:
        return Verdict.ready_with_warnings
    return Verdict.ready
