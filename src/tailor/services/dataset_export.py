"""``GET /v1/datasets/{id}/download``: a dataset's images as one zip, its captions as JSON lines.

An export is named by a fingerprint of what it holds (every image's file and caption), so the
same dataset state is built once and reused, and a changed dataset gets a new export; the keys
carry the images' random blob keys through the hash, so they cannot be guessed. A dataset of at
most ``dataset_export_inline_max_images`` images is built in the request; a larger one by an
``export_dataset`` job, the request answering "in progress" until it is there.

Files: ``exports/<org>/datasets/<id>-<fingerprint>/images.zip`` (stored, not compressed: the
images are compressed already) and ``.../captions.jsonl`` (one ``{"image_name", "caption"}``
object a line, the caption being the structured prompt as an object; only when every image has
a caption). Deleting the dataset deletes them.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import shutil
import tempfile
import zipfile
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from tailor.domain.enums import TERMINAL_JOB_STATES, UploadType
from tailor.domain.errors import Conflict, NotFound
from tailor.domain.jobs import EXPORT_DATASET, ExportDataset, PermanentJobError
from tailor.jobs.queue import enqueue
from tailor.services.context import Stores
from tailor.store import datasets as dataset_store
from tailor.store import images as image_store
from tailor.store.blob_base import BlobStore
from tailor.store.db import session_scope
from tailor.store.tables import Image, Job

IMAGES_NAME = "images.zip"
CAPTIONS_NAME = "captions.jsonl"


def export_root(organization_id: int, dataset_id: int) -> str:
    """The prefix of every export of one dataset (the dash keeps dataset 1 apart from 12)."""
    return f"exports/{organization_id}/datasets/{dataset_id}-"


@dataclass(frozen=True)
class Export:
    """Where a dataset state's export lives; ``captions_key`` None when not every image has one."""

    zip_key: str
    captions_key: str | None


@dataclass(frozen=True)
class Download:
    """The answer: the keys when built, else ``building`` (a job is on it)."""

    export: Export | None

    @property
    def building(self) -> bool:
        return self.export is None


def fingerprint(images: list[Image]) -> str:
    h = hashlib.sha256()
    for img in images:
        h.update(json.dumps([img.id, img.image_name, img.blob_key, img.sha256, img.caption]).encode())
    return h.hexdigest()[:40]


def export_of(organization_id: int, dataset_id: int, images: list[Image]) -> Export:
    folder = f"{export_root(organization_id, dataset_id)}{fingerprint(images)}/"
    captioned = bool(images) and all(img.caption for img in images)
    return Export(f"{folder}{IMAGES_NAME}", f"{folder}{CAPTIONS_NAME}" if captioned else None)


def _names(images: list[Image]) -> list[str]:
    """Unique file names in the zip: the image's name, with the stored file's extension if it has
    none, and ``-<id>`` before the extension when two images share a name."""
    seen: set[str] = set()
    out: list[str] = []
    for img in images:
        name = posixpath.basename(img.image_name.replace("\\", "/")) or f"image-{img.id}"
        stem, ext = posixpath.splitext(name)
        if not ext:
            ext = posixpath.splitext(img.blob_key)[1]
        name = f"{stem}{ext}"
        if name.lower() in seen:
            name = f"{stem}-{img.id}{ext}"
        seen.add(name.lower())
        out.append(name)
    return out


def build(blobs: BlobStore, images: list[Image], export: Export) -> None:
    """Write the export's files (the zip last is what ``ready`` looks at, so it goes last)."""
    names = _names(images)
    with tempfile.TemporaryDirectory() as tmp:
        if export.captions_key is not None:
            lines = [
                json.dumps({"image_name": n, "caption": json.loads(img.caption or "{}")}, ensure_ascii=False)
                for n, img in zip(names, images, strict=True)
            ]
            blobs.put(export.captions_key, ("\n".join(lines) + "\n").encode(), "application/x-ndjson")
        path = f"{tmp}/{IMAGES_NAME}"
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
            for name, img in zip(names, images, strict=True):
                with blobs.open(img.blob_key) as src, zf.open(name, "w", force_zip64=True) as dst:
                    shutil.copyfileobj(src, dst)
        with open(path, "rb") as f:
            blobs.put_file(export.zip_key, f, content_type="application/zip")


def _export_job_running(session: Session, organization_id: int, dataset_id: int) -> bool:
    jobs = session.scalars(
        select(Job).where(
            Job.kind == EXPORT_DATASET.name,
            Job.organization_id == organization_id,
            Job.state.not_in([s.value for s in TERMINAL_JOB_STATES]),
        )
    )
    return any((j.payload or {}).get("dataset_id") == dataset_id for j in jobs)


def _images(session: Session, organization_id: int, dataset_id: int) -> list[Image]:
    ds = dataset_store.get_dataset(session, organization_id, dataset_id)
    if ds is None:
        raise NotFound(f"dataset {dataset_id} not found")
    if ds.upload_type != UploadType.advanced:
        raise Conflict(
            f"dataset {dataset_id} is a basic dataset: download is available for advanced datasets "
            "(upload_type advanced)"
        )
    return image_store.list_images(session, dataset_id)


def download(rt: Stores, organization_id: int, dataset_id: int) -> Download:
    """The dataset's current export: ready, built now (small), or being built by a job (large)."""
    with session_scope(rt.sessions) as s:
        images = _images(s, organization_id, dataset_id)
        export = export_of(organization_id, dataset_id, images)
        if rt.blobs.exists(export.zip_key):
            return Download(export)
        if len(images) > rt.settings.dataset_export_inline_max_images:
            if not _export_job_running(s, organization_id, dataset_id):
                enqueue(
                    s, EXPORT_DATASET, ExportDataset(dataset_id=dataset_id), organization_id=organization_id
                )
            return Download(None)
        s.expunge_all()
    build(rt.blobs, images, export)
    return Download(export)


def run_export(rt: Stores, organization_id: int, dataset_id: int) -> str:
    """The job's work: build the dataset's current export unless it exists; returns the zip key."""
    with session_scope(rt.sessions) as s:
        try:
            images = _images(s, organization_id, dataset_id)
        except (NotFound, Conflict) as e:
            raise PermanentJobError(e.message, code=e.status) from e
        export = export_of(organization_id, dataset_id, images)
        s.expunge_all()
    if not rt.blobs.exists(export.zip_key):
        build(rt.blobs, images, export)
    return export.zip_key
