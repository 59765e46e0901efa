"""Which blob keys the records still name: the sweeper's side of the metadata store.

Each function answers for one kind of blob, per organization where the keys carry one
(``<kind>/<org>/...``), so the sets held in memory stay one organization's size.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tailor.domain.enums import BulkUploadStatus, ModelStatus
from tailor.store.tables import BulkUpload, Checkpoint, GenerationRequest, Image, Job, TailoredModel

OPEN_UPLOADS = (BulkUploadStatus.pending, BulkUploadStatus.processing)


def image_keys(session: Session, organization_id: int) -> set[str]:
    """Image files and thumbnails of the organization's images (clones share them)."""
    q = select(Image.blob_key, Image.thumbnail_key).where(Image.organization_id == organization_id)
    keys: set[str] = set()
    for blob_key, thumbnail_key in session.execute(q):
        keys.update((blob_key, thumbnail_key))
    return keys


def open_upload_keys(session: Session, organization_id: int) -> set[str]:
    """Archives of bulk uploads still to be processed (finished ones need theirs no more)."""
    q = select(BulkUpload.zip_key).where(
        BulkUpload.organization_id == organization_id,
        BulkUpload.status.in_([s.value for s in OPEN_UPLOADS]),
        BulkUpload.zip_key.is_not(None),
    )
    return {k for k in session.scalars(q) if k}


def request_keys(session: Session, organization_id: int, prefix: str) -> set[str]:
    """Keys under ``prefix`` named by the work record (payload or result) of a request that still
    exists: its inline input images, its generated output."""
    q = (
        select(Job.payload, Job.result)
        .join(GenerationRequest, GenerationRequest.job_id == Job.id)
        .where(GenerationRequest.organization_id == organization_id)
        .execution_options(yield_per=1000)
    )
    keys: set[str] = set()
    for payload, result in session.execute(q):
        keys.update(k for k in _strings(payload) if k.startswith(prefix))
        keys.update(k for k in _strings(result) if k.startswith(prefix))
    return keys


def _strings(value: Any, depth: int = 0) -> Iterator[str]:
    """Every string in a JSON value (keys named anywhere in a payload or result count)."""
    if isinstance(value, str):
        yield value
    elif depth < 4 and isinstance(value, dict):
        for v in value.values():
            yield from _strings(v, depth + 1)
    elif depth < 4 and isinstance(value, list):
        for v in value:
            yield from _strings(v, depth + 1)


@dataclass
class ModelFiles:
    """Every model's prefix, and the run files (checkpoints, final adapters) its records name."""

    prefixes: set[str] = field(default_factory=set)
    named: set[str] = field(default_factory=set)

    def owner(self, key: str) -> str | None:
        """The prefix of the model that ``key`` belongs to, if that model exists (the longest: a
        model of the earlier layout, ``models/<id>/``, may sit above an organization's folder)."""
        found = None
        cut = key.find("/")
        while cut >= 0:
            if key[: cut + 1] in self.prefixes:
                found = key[: cut + 1]
            cut = key.find("/", cut + 1)
        return found


def model_files(session: Session) -> ModelFiles:
    out = ModelFiles()
    # a Deleted model's record stays (Bria's semantics) but owns no files any more
    q_models = select(TailoredModel.blob_prefix, TailoredModel.adapter_key).where(
        TailoredModel.status != ModelStatus.Deleted.value
    )
    for prefix, adapter_key in session.execute(q_models):
        out.prefixes.add(prefix)
        out.named.update(_with_sidecar([adapter_key]))
    q = select(Checkpoint.adapter_key, Checkpoint.state_key, Checkpoint.sample_key)
    for adapter_key, state_key, sample_key in session.execute(q):
        out.named.update(_with_sidecar([adapter_key]))
        out.named.update(k for k in (state_key, sample_key) if k)
    return out


def _with_sidecar(adapter_keys: Iterable[str | None]) -> Iterator[str]:
    """An adapter file and its ``.json`` sidecar (the LoRA config written next to it)."""
    for key in adapter_keys:
        if key:
            yield key
            yield key + ".json"
