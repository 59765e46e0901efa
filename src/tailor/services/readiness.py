"""The dataset readiness report, and the problems that keep a dataset from being completed.

The per-image measures are taken at ingest (``infra.image_quality``, stored in ``image_measures``
with the image row); the report aggregates them with the captions on every read, so it is always
current and costs one pass over the dataset's rows (no pixels are decoded here). The rules and
thresholds are in ``tailor.domain.readiness``.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import asdict
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from tailor.bridge.prompts import PER_IMAGE_FIELDS
from tailor.bridge.schema_merge import schema_conflicts
from tailor.domain import readiness as rules
from tailor.domain.datasets import MIN_IMAGES_TO_COMPLETE
from tailor.domain.enums import CaptionSource
from tailor.domain.errors import NotFound
from tailor.domain.readiness import Flag, Problem, Severity
from tailor.services.context import Stores
from tailor.store import datasets as dataset_store
from tailor.store import images as image_store
from tailor.store import measures as measure_store
from tailor.store import projects as project_store
from tailor.store.db import session_scope
from tailor.store.tables import Dataset, Image, ImageMeasure

_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


def _hamming_pairs(hashes: list[str], max_bits: int) -> list[tuple[int, int, int]]:
    """Index pairs (i < j) whose 64-bit hashes differ in at most ``max_bits`` bits, with the distance."""
    if len(hashes) < 2:
        return []
    values = np.array([int(h, 16) for h in hashes], dtype=np.uint64)
    out: list[tuple[int, int, int]] = []
    chunk = 256
    for start in range(0, len(values), chunk):
        block = values[start : start + chunk]
        xor = np.bitwise_xor(block[:, None], values[None, :])
        if hasattr(np, "bitwise_count"):  # numpy >= 2.0
            dist = np.bitwise_count(xor)
        else:
            dist = _POPCOUNT[xor.view(np.uint8)].reshape(len(block), len(values), 8).sum(axis=2)
        rows, cols = np.nonzero(dist <= max_bits)
        for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
            i = start + r
            if i < c:
                out.append((i, c, int(dist[r, c])))
    return out


def _caption_dict(text: str | None) -> dict[str, Any] | None:
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _schema_dict(text: str | None) -> dict[str, Any] | None:
    return _caption_dict(text)


def build_report(
    ds: Dataset, ip_type: str | None, images: list[Image], measures: dict[int, ImageMeasure]
) -> dict[str, Any]:
    """The readiness report of ``ds`` from its rows (pure: no database, no pixels)."""
    flags: dict[int, list[str]] = defaultdict(list)
    problems: list[Problem] = []
    n = len(images)

    def flag(image_ids: list[int], code: Flag) -> None:
        for i in image_ids:
            if code not in flags[i]:
                flags[i].append(code)

    # duplicates: the same stored bytes; then perceptual near duplicates among the rest
    by_hash: dict[str, list[int]] = defaultdict(list)
    for img in images:
        by_hash[img.sha256].append(img.id)
    exact_groups = [ids for ids in by_hash.values() if len(ids) > 1]
    for ids in exact_groups:
        flag(ids, Flag.exact_duplicate)
    if exact_groups:
        copies = sum(len(g) - 1 for g in exact_groups)
        problems.append(
            Problem(
                Flag.exact_duplicate,
                Severity.warning,
                f"{copies} image(s) are exact copies of another image in the dataset; delete the copies",
                sorted(i for g in exact_groups for i in g),
            )
        )
    measured = [img for img in images if img.id in measures]
    sha_of = {img.id: img.sha256 for img in images}
    pairs = [
        (measured[i].id, measured[j].id, d)
        for i, j, d in _hamming_pairs([measures[m.id].phash for m in measured], rules.NEAR_DUPLICATE_BITS)
        if sha_of[measured[i].id] != sha_of[measured[j].id]
    ]
    near_ids = sorted({i for a, b, _ in pairs for i in (a, b)})
    flag(near_ids, Flag.near_duplicate)
    if pairs:
        problems.append(
            Problem(
                Flag.near_duplicate,
                Severity.warning,
                f"{len(pairs)} pair(s) of images look alike (perceptual hashes at most "
                f"{rules.NEAR_DUPLICATE_BITS} bits apart): resized, re-encoded or lightly edited copies",
                near_ids,
            )
        )

    # sharpness, upscaling, aspect ratios, buckets
    blurry = [m.id for m in measured if measures[m.id].sharpness < rules.SHARPNESS_MIN]
    flag(blurry, Flag.blurry)
    if blurry:
        problems.append(
            Problem(
                Flag.blurry,
                Severity.warning,
                f"{len(blurry)} image(s) are blurry or have little detail (sharpness below "
                f"{rules.SHARPNESS_MIN:g})",
                blurry,
            )
        )
    upscaled = [
        m.id
        for m in measured
        if measures[m.id].source_width < m.width or measures[m.id].source_height < m.height
    ]
    flag(upscaled, Flag.upscaled)
    upscaled_share = len(upscaled) / len(measured) if measured else 0.0
    if upscaled:
        problems.append(
            Problem(
                Flag.upscaled,
                Severity.warning,
                f"{len(upscaled)} image(s) ({upscaled_share:.0%}) were smaller than the minimum side and "
                "were upscaled: they carry less detail than their size suggests"
                + ("; most of the dataset is upscaled" if upscaled_share > rules.UPSCALED_SHARE_WARN else ""),
                upscaled,
            )
        )
    buckets: Counter[str] = Counter()
    extreme: list[int] = []
    halved: list[int] = []
    for img in images:
        buckets[rules.nearest_bucket(img.width, img.height)] += 1
        loss = rules.crop_loss(img.width, img.height)
        if loss > rules.CROP_BLOCK:
            halved.append(img.id)
        elif loss > rules.CROP_WARN:
            extreme.append(img.id)
    flag(extreme, Flag.extreme_aspect_ratio)
    flag(halved, Flag.cropped_in_half)
    if extreme:
        problems.append(
            Problem(
                Flag.extreme_aspect_ratio,
                Severity.warning,
                f"{len(extreme)} image(s) have an aspect ratio far from every training bucket: the "
                f"training crop drops more than {rules.CROP_WARN:.0%} of each",
                extreme,
            )
        )
    if halved:
        problems.append(
            Problem(
                Flag.cropped_in_half,
                Severity.blocking,
                f"{len(halved)} image(s) are so elongated that the training crop drops more than "
                f"{rules.CROP_BLOCK:.0%} of each: crop or split them",
                halved,
            )
        )
    unmeasured = [img.id for img in images if img.id not in measures]
    flag(unmeasured, Flag.not_measured)
    if unmeasured:
        problems.append(
            Problem(
                Flag.not_measured,
                Severity.warning,
                f"{len(unmeasured)} image(s) were stored before readiness measures existed: duplicates "
                "by appearance, sharpness and upscaling are not checked for them",
                unmeasured,
            )
        )

    # captions
    schema = _schema_dict(ds.visual_schema)
    automatic = manual = pending = captioned = 0
    failed: list[int] = []
    missing: list[int] = []
    short: list[int] = []
    contradicting: list[dict[str, Any]] = []
    for img in images:
        if img.caption_error:
            failed.append(img.id)
        if img.caption_source == CaptionSource.pending:
            pending += 1
        caption = _caption_dict(img.caption)
        if caption is None:
            if ds.visual_schema and img.caption_source != CaptionSource.pending and not img.caption_error:
                missing.append(img.id)
            continue
        captioned += 1
        if img.caption_source == CaptionSource.manual:
            manual += 1
        elif img.caption_source == CaptionSource.automatic:
            automatic += 1
        description = str(caption.get(PER_IMAGE_FIELDS[0]) or "")
        if len(description.split()) < rules.SHORT_DESCRIPTION_MIN_WORDS:
            short.append(img.id)
        fields = schema_conflicts(caption, schema)
        if fields:
            contradicting.append({"image_id": img.id, "fields": fields})
    flag(failed, Flag.caption_failed)
    flag(missing, Flag.caption_missing)
    flag(short, Flag.short_description)
    flag([c["image_id"] for c in contradicting], Flag.caption_contradicts_schema)
    if not ds.visual_schema and n:
        problems.append(
            Problem("no_visual_schema", Severity.warning, "the dataset has no visual_schema, so no captions")
        )
    if pending:
        problems.append(
            Problem("captions_pending", Severity.warning, f"{pending} caption(s) are still being written")
        )
    if failed:
        problems.append(
            Problem(Flag.caption_failed, Severity.warning, f"{len(failed)} caption(s) failed", failed)
        )
    if missing:
        problems.append(
            Problem(
                Flag.caption_missing, Severity.warning, f"{len(missing)} image(s) have no caption", missing
            )
        )
    if short:
        problems.append(
            Problem(
                Flag.short_description,
                Severity.warning,
                f"{len(short)} caption(s) have an empty or very short short_description (fewer than "
                f"{rules.SHORT_DESCRIPTION_MIN_WORDS} words)",
                short,
            )
        )
    if contradicting:
        problems.append(
            Problem(
                Flag.caption_contradicts_schema,
                Severity.blocking,
                f"{len(contradicting)} caption(s) contradict the visual schema's IP fields ("
                + "; ".join(f"image {c['image_id']}: {', '.join(c['fields'])}" for c in contradicting[:5])
                + (", ..." if len(contradicting) > 5 else "")
                + "): edit the captions or regenerate them",
                [c["image_id"] for c in contradicting],
            )
        )

    # the image count against the ip_type
    recommended, reason = rules.recommended_images(ip_type)
    if n < MIN_IMAGES_TO_COMPLETE:
        problems.append(
            Problem(
                "too_few_images",
                Severity.blocking,
                f"the dataset has {n} image(s); at least {MIN_IMAGES_TO_COMPLETE} are needed",
            )
        )
    elif n < recommended:
        problems.append(
            Problem(
                "few_images",
                Severity.warning,
                f"the dataset has {n} image(s); {recommended} or more are recommended for ip_type "
                f"{ip_type or 'unknown'}: {reason}",
            )
        )

    verdict = rules.verdict(problems)
    return {
        "dataset_id": ds.id,
        "verdict": verdict.value,
        "images_count": n,
        "measured_count": len(measured),
        "problems": [asdict(p) | {"code": str(p.code), "severity": p.severity.value} for p in problems],
        "duplicates": {
            "exact": exact_groups,
            "near": [{"image_ids": [a, b], "distance": d} for a, b, d in pairs[: rules.MAX_NEAR_PAIRS]],
            "near_pairs_count": len(pairs),
            "max_distance_bits": rules.NEAR_DUPLICATE_BITS,
        },
        "sharpness": {"threshold": rules.SHARPNESS_MIN, "blurry": blurry},
        "upscaled": {"count": len(upscaled), "share": round(upscaled_share, 4), "image_ids": upscaled},
        "aspect_ratios": {
            "extreme": extreme,
            "cropped_in_half": halved,
            "crop_warn": rules.CROP_WARN,
            "crop_block": rules.CROP_BLOCK,
        },
        "buckets": dict(sorted(buckets.items())),
        "captions": {
            "captioned": captioned,
            "coverage": round(captioned / n, 4) if n else 0.0,
            "automatic": automatic,
            "manual": manual,
            "pending": pending,
            "failed": failed,
            "missing": missing,
            "short_description": short,
            "contradicting": contradicting,
        },
        "image_count": {
            "count": n,
            "minimum": MIN_IMAGES_TO_COMPLETE,
            "recommended": recommended,
            "ip_type": ip_type,
            "reason": reason,
        },
        "images": [
            {
                "id": img.id,
                "image_name": img.image_name,
                "flags": [str(f) for f in flags.get(img.id, [])],
                "sharpness": measures[img.id].sharpness if img.id in measures else None,
                "phash": measures[img.id].phash if img.id in measures else None,
                "source_width": measures[img.id].source_width if img.id in measures else None,
                "source_height": measures[img.id].source_height if img.id in measures else None,
                "width": img.width,
                "height": img.height,
            }
            for img in images
        ],
    }


def report_in(session: Session, ds: Dataset) -> dict[str, Any]:
    project = project_store.get_project(session, ds.organization_id, ds.project_id)
    images = image_store.list_images(session, ds.id)
    measures = measure_store.measures_of_dataset(session, ds.id)
    return build_report(ds, project.ip_type if project else None, images, measures)


def dataset_report(rt: Stores, organization_id: int, dataset_id: int) -> dict[str, Any]:
    """``GET /datasets/{id}/report``."""
    with session_scope(rt.sessions) as s:
        ds = dataset_store.get_dataset(s, organization_id, dataset_id)
        if ds is None:
            raise NotFound(f"dataset {dataset_id} not found")
        return report_in(s, ds)


def completion_problems(session: Session, ds: Dataset) -> list[str]:
    """What keeps ``ds`` from being completed (empty: it may be). Every check that can refuse a
    completion adds its messages here; ``force: true`` on the update skips them."""
    report = report_in(session, ds)
    return [
        p["message"]
        for p in report["problems"]
        if p["severity"] == Severity.blocking and p["code"] != "too_few_images"
    ]
