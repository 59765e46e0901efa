"""Bulk upload of a zip to an advanced dataset: start (202), the background job, its status.

The archive (a multipart upload, or ``zip_url`` fetched by the job through the URL guard) is read
one member at a time; each image goes through the same rules as a single upload. Rows are committed
in small batches under the dataset's lock, after their blobs are written. A failure of the whole
archive (not a zip, over the unpacked-size cap, unreachable URL) rolls back every image the upload
added, so the dataset is left as it was.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import uuid
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from typing import Any, BinaryIO

from sqlalchemy.orm import Session

from tailor.domain import datasets as rules
from tailor.domain.enums import BulkUploadStatus, DatasetStatus, UploadSource
from tailor.domain.errors import NotFound, TailorError
from tailor.domain.jobs import BULK_UPLOAD
from tailor.domain.jobs import BulkUpload as BulkUploadPayload
from tailor.infra.imaging import ImageRules, NormalizedImage, normalize_image
from tailor.infra.safe_fetch import check_public_url, fetch_to_file
from tailor.infra.zip_ingest import (
    Member,
    ZipLimits,
    candidates,
    check_declared_total,
    iter_members,
    open_archive,
)
from tailor.jobs.context import JobContext
from tailor.jobs.queue import enqueue
from tailor.services.blob_refs import delete_quietly, delete_unreferenced
from tailor.services.context import Stores
from tailor.services.datasets import require_dataset
from tailor.services.images import StoredBlobs, clean_name, insert_image, write_blobs
from tailor.services.queue_status import queue_body
from tailor.store import bulk_uploads as store
from tailor.store import datasets as dataset_store
from tailor.store import images as image_store
from tailor.store.db import session_scope
from tailor.store.tables import BulkUpload, Job

log = logging.getLogger(__name__)

BATCH = 25
INGEST_THREADS = 2  # decode/store threads per bulk upload (bounds CPU share and memory)
_SPOOL = 64 * 1024 * 1024


def _limits(rt_settings: Any) -> ZipLimits:
    return ZipLimits(
        max_total_bytes=rt_settings.max_zip_uncompressed_bytes,
        max_member_bytes=rt_settings.max_image_bytes,
        max_ratio=rt_settings.max_zip_ratio,
        max_entries=rt_settings.max_zip_entries,
    )


def start_bulk_upload(
    rt: Stores,
    organization_id: int,
    dataset_id: int,
    *,
    zip_url: str | None = None,
    archive: BinaryIO | None = None,
) -> BulkUpload:
    """Accept a zip (uploaded, or a URL the job will fetch) and queue the job; 202 for the caller."""
    with session_scope(rt.sessions) as s:  # fail fast, before storing the archive
        _check_start_in(s, organization_id, dataset_id, lock=False)
    zip_key = None
    if archive is not None:
        open_archive(archive, _limits(rt.settings))  # 415 now rather than a failed job later
        archive.seek(0)
        zip_key = f"uploads/{organization_id}/{uuid.uuid4().hex}.zip"
        rt.blobs.put_file(zip_key, archive, content_type="application/zip")
    elif zip_url:
        check_public_url(zip_url, allow_private=rt.settings.allow_private_urls, field="zip_url")
    try:
        with session_scope(rt.sessions) as s:
            _check_start_in(s, organization_id, dataset_id, lock=True)
            row = store.add_bulk_upload(
                s,
                organization_id,
                dataset_id,
                status=BulkUploadStatus.pending,
                zip_key=zip_key,
                zip_url=zip_url,
                failed_images=[],
            )
            job = enqueue(
                s, BULK_UPLOAD, BulkUploadPayload(bulk_upload_id=row.id), organization_id=organization_id
            )
            row.job_id = job.id
            s.flush()
            return row
    except BaseException:
        if zip_key:
            delete_quietly(rt, [zip_key])
        raise


def _check_start_in(s: Session, organization_id: int, dataset_id: int, *, lock: bool) -> None:
    ds = require_dataset(s, organization_id, dataset_id, lock=lock)
    rules.check_editable(ds.status, "bulk upload")
    previous = store.latest_for_dataset(s, dataset_id)
    rules.check_bulk_upload(
        ds.upload_type, dataset_store.count_images(s, dataset_id), previous.status if previous else None
    )


def bulk_status(rt: Stores, organization_id: int, dataset_id: int) -> dict[str, Any]:
    """The latest bulk upload of the dataset, in the contract's shape (404 when there is none)."""
    with session_scope(rt.sessions) as s:
        require_dataset(s, organization_id, dataset_id, lock=False)
        row = store.latest_for_dataset(s, dataset_id)
        if row is None:
            raise NotFound(f"dataset {dataset_id} has no bulk upload")
        processed = row.done + row.failed
        if row.status == BulkUploadStatus.completed:
            pct = 100
        else:
            pct = int(processed * 100 / row.total) if row.total else 0
        return {
            "status": row.status,
            "progress_percentage": min(pct, 100),
            "total_processed": processed,
            "done": row.done,
            "failed": row.failed,
            "failed_images": list(row.failed_images or []),
            "total": row.total,
            "error": row.error,
            "queue": queue_body(
                s, s.get(Job, row.job_id) if row.job_id else None, rt.settings.heartbeat_timeout_s
            ),
        }


_Prepared = tuple[str, NormalizedImage, StoredBlobs] | dict[str, Any]


class _Batch:
    """Images normalized and stored, waiting for their rows to be committed."""

    def __init__(self) -> None:
        self.items: list[tuple[str, NormalizedImage, StoredBlobs]] = []
        self.failures: list[dict[str, Any]] = []

    def keys(self) -> list[str]:
        return [k for _n, _i, b in self.items for k in b.keys]


class _Ingest:
    """One run of a bulk upload job."""

    def __init__(self, rt: Stores, ctx: JobContext | None, row: BulkUpload) -> None:
        self.rt = rt
        self.ctx = ctx
        self.bulk_id = row.id
        self.org = row.organization_id
        self.dataset_id = row.dataset_id
        self.added_keys: list[str] = []
        self.added_ids: list[int] = []
        self.stopped: str | None = None

    def commit(self, batch: _Batch) -> None:
        """Insert the batch's rows (dataset locked) and the progress; undo its blobs on failure."""
        if not batch.items and not batch.failures:
            return
        try:
            with session_scope(self.rt.sessions) as s:
                ds = dataset_store.lock_dataset(s, self.org, self.dataset_id)
                if ds is None:
                    self.stopped = "the dataset was deleted"
                    raise NotFound(self.stopped)
                row = store.get_bulk_upload(s, self.bulk_id)
                if row is None:
                    self.stopped = "the upload record was deleted"
                    raise NotFound(self.stopped)
                failures = list(batch.failures)
                limit = self.rt.settings.advanced_dataset_max_images
                count = dataset_store.count_images(s, ds.id)
                for name, img, blobs in batch.items:
                    reason = None
                    if ds.status != DatasetStatus.draft:
                        reason = (409, "the dataset was completed during the upload")
                    elif count >= limit:
                        reason = (409, f"the dataset is full: at most {limit} images")
                    if reason:
                        failures.append(
                            {"filename": name, "error_code": reason[0], "error_message": reason[1]}
                        )
                        delete_quietly(self.rt, blobs.keys)
                        continue
                    image = insert_image(
                        s,
                        ds,
                        img,
                        blobs,
                        image_name=clean_name(name, f"{img.sha256[:16]}.{img.ext}"),
                        upload_source_url=None,
                        upload_source=UploadSource.zip,
                    )
                    self.added_ids.append(image.id)
                    self.added_keys.extend(blobs.keys)
                    count += 1
                row.done += len(batch.items) - (len(failures) - len(batch.failures))
                row.failed += len(failures)
                row.failed_images = list(row.failed_images or []) + failures
        except BaseException:
            delete_quietly(self.rt, batch.keys())
            raise
        finally:
            batch.items.clear()
            batch.failures.clear()
        if self.ctx is not None:
            self.ctx.progress(bulk_upload_id=self.bulk_id, added=len(self.added_ids))

    def rollback(self) -> None:
        """Remove every image this upload added (the archive as a whole was refused)."""
        with session_scope(self.rt.sessions) as s:
            for image_id in self.added_ids:
                img = image_store.get_image_by_id(s, image_id)
                if img is not None:
                    image_store.delete_image(s, img)
        delete_unreferenced(self.rt, self.added_keys)
        self.added_ids.clear()
        self.added_keys.clear()

    def _prepare(self, member: Member, image_rules: ImageRules) -> _Prepared:
        """Normalize one member and store its blobs (runs on a worker thread)."""
        try:
            img = normalize_image(member.data, image_rules, increase_resolution=True, field=member.name)
            blobs = write_blobs(self.rt, self.org, img)
        except TailorError as e:
            return {"filename": member.name, "error_code": e.status, "error_message": e.message}
        # keep only the facts the row needs: the pixels are in the blob store now
        return (member.name, replace(img, data=b"", thumbnail=b""), blobs)

    def run(self, archive: BinaryIO) -> None:
        """Read members in order on this thread; decode and store them on a small pool.

        Decoding (Pillow releases the GIL) and blob writes (fsync) overlap with reading the next
        member. At most ``2 * workers`` members are in flight, which bounds memory.
        """
        limits = _limits(self.rt.settings)
        image_rules = ImageRules.from_settings(self.rt.settings)
        workers = max(1, min(INGEST_THREADS, os.cpu_count() or 1))
        zf = open_archive(archive, limits)
        pending: deque[Future[_Prepared]] = deque()
        batch = _Batch()

        def collect(fut: Future[_Prepared]) -> None:
            result = fut.result()
            if isinstance(result, dict):
                batch.failures.append(result)
            else:
                batch.items.append(result)
            if len(batch.items) + len(batch.failures) >= BATCH:
                self.commit(batch)

        with zf, ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ingest") as pool:
            try:
                check_declared_total(zf, limits)
                self._set(total=len(candidates(zf)))
                for item in iter_members(zf, limits):
                    if isinstance(item, Member):
                        pending.append(pool.submit(self._prepare, item, image_rules))
                    else:
                        done: Future[_Prepared] = Future()
                        done.set_result(
                            {"filename": item.name, "error_code": item.code, "error_message": item.message}
                        )
                        pending.append(done)
                    while len(pending) > 2 * workers or (pending and pending[0].done()):
                        collect(pending.popleft())
                while pending:
                    collect(pending.popleft())
                self.commit(batch)
            except BaseException:
                # blobs already written by members whose rows will never be committed
                for fut in pending:
                    result = fut.result()
                    if isinstance(result, tuple):
                        delete_quietly(self.rt, result[2].keys)
                delete_quietly(self.rt, batch.keys())
                raise

    def _set(self, **values: Any) -> None:
        with session_scope(self.rt.sessions) as s:
            row = store.get_bulk_upload(s, self.bulk_id)
            if row is not None:
                for k, v in values.items():
                    setattr(row, k, v)


def _fetch_archive(rt: Stores, row: BulkUpload, dest: BinaryIO) -> BinaryIO:
    """The archive as a seekable file: the stored upload, or ``zip_url`` downloaded into ``dest``."""
    if row.zip_key:
        src = rt.blobs.open(row.zip_key)
        if src.seekable():
            return src
        with src:
            shutil.copyfileobj(src, dest, 1024 * 1024)
        return dest
    s = rt.settings
    fetch_to_file(
        row.zip_url or "",
        dest,
        allow_private=s.allow_private_urls,
        max_bytes=s.max_zip_bytes,
        timeout_s=s.zip_fetch_timeout_s,
        field="zip_url",
    )
    return dest


def run_bulk_upload(rt: Stores, bulk_upload_id: int, ctx: JobContext | None = None) -> dict[str, Any]:
    """Process one bulk upload to its end; returns a summary for the job result."""
    with session_scope(rt.sessions) as s:
        row = store.get_bulk_upload(s, bulk_upload_id)
        if row is None:
            return {"bulk_upload_id": bulk_upload_id, "status": "gone"}
        row.status = BulkUploadStatus.processing
    ingest = _Ingest(rt, ctx, row)
    status, error = BulkUploadStatus.completed, None
    with tempfile.SpooledTemporaryFile(max_size=_SPOOL) as spool:
        archive: BinaryIO | None = None
        try:
            archive = _fetch_archive(rt, row, spool)  # type: ignore[arg-type]
            ingest.run(archive)
        except TailorError as e:
            if ingest.stopped:
                return {"bulk_upload_id": bulk_upload_id, "status": "stopped", "reason": ingest.stopped}
            status, error = BulkUploadStatus.failed, e.message
            ingest.rollback()
        except BaseException:
            ingest.rollback()
            ingest._set(status=BulkUploadStatus.failed, error="the upload was interrupted")
            raise
        finally:
            if archive is not None and archive is not spool:
                archive.close()
            if row.zip_key:  # processed, failed, interrupted or stopped: never read again
                delete_quietly(rt, [row.zip_key])
    ingest._set(status=status, error=error)
    return {"bulk_upload_id": bulk_upload_id, "status": str(status), "added": len(ingest.added_ids)}


def settle_interrupted(session: Session, bulk_upload_id: int, reason: str | None) -> None:
    """The upload's job ended without finishing (its worker was killed, say): the upload has failed."""
    row = store.get_bulk_upload(session, bulk_upload_id)
    if row is not None and row.status in (BulkUploadStatus.pending, BulkUploadStatus.processing):
        row.status = BulkUploadStatus.failed
        row.error = (
            f"the upload was interrupted ({reason or 'its job ended'}); "
            f"{row.done} image(s) were added before that"
        )


__all__ = ["bulk_status", "run_bulk_upload", "settle_interrupted", "start_bulk_upload"]
