"""Images of a dataset: single uploads (path, bytes, URL), bulk zip uploads, captions."""

from __future__ import annotations

import asyncio
import builtins
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tailor.client._core import AsyncCore, Call, SyncCore, body, items_of
from tailor.client._errors import TailorError, TailorTimeoutError
from tailor.client._files import FileInput, FilePart, file_part, image_files, is_url, zip_images
from tailor.client._models import BulkUploadStatus, Image

D = "/v1/tailored-gen/datasets"


@dataclass
class UploadResult:
    """What happened to one file of ``upload_many``: the image, or the error."""

    source: FileInput
    image: Image | None = None
    error: TailorError | None = None


ProgressFn = Callable[[int, int, UploadResult], None]


def _upload(
    dataset_id: int,
    source: FileInput,
    image_name: str | None,
    increase_resolution: bool | None,
    content_moderation: bool | None,
) -> Call:
    opts = body(
        image_name=image_name, increase_resolution=increase_resolution, content_moderation=content_moderation
    )
    path = f"{D}/{dataset_id}/images"
    if is_url(source):
        return Call("POST", path, json={"image_url": source, **opts}, timeout=300)
    return Call("POST", path, data=opts, files={"file": file_part(source)}, timeout=300)  # type: ignore[arg-type]


def _caption(dataset_id: int, image_id: int, caption: str | dict[str, Any] | None, regenerate: bool) -> Call:
    payload: dict[str, Any] = {}
    if caption is not None:
        payload["caption"] = json.dumps(caption) if isinstance(caption, dict) else caption
    if regenerate:
        payload["regenerate_caption"] = True
    return Call("PUT", f"{D}/{dataset_id}/images/{image_id}", json=payload)


def _list(
    dataset_id: int,
    limit: int | None,
    offset: int | None,
    caption_state: str | None,
    flag: str | None,
    search: str | None,
) -> Call:
    params = {
        "limit": limit,
        "offset": offset,
        "caption_state": caption_state,
        "flag": flag,
        "search": search,
    }
    return Call("GET", f"{D}/{dataset_id}/images", params=params)


def _delete_many(dataset_id: int, image_ids: Sequence[int]) -> Call:
    return Call("POST", f"{D}/{dataset_id}/images/delete", json={"image_ids": list(image_ids)})


def _zip_part(source: FileInput) -> FilePart:
    if isinstance(source, (str, os.PathLike)) and Path(source).expanduser().is_dir():
        return FilePart("images.zip", "application/zip", content=zip_images(image_files([source])))
    part = file_part(source)  # type: ignore[arg-type]
    return FilePart(part.filename, "application/zip", path=part.path, content=part.content)


def _bulk(dataset_id: int, source: FileInput, content_moderation: bool | None) -> Call:
    path = f"{D}/{dataset_id}/images/bulk-upload"
    if is_url(source):
        return Call("POST", path, json=body(zip_url=source, content_moderation=content_moderation))
    data = body(content_moderation=content_moderation)
    return Call("POST", path, data=data, files={"file": _zip_part(source)}, timeout=3600)


def _bulk_status(data: Any) -> BulkUploadStatus:
    values = data if isinstance(data, dict) else {}
    return BulkUploadStatus.model_validate({"status": "pending", **values})


class Images:
    """Images of a dataset."""

    def __init__(self, core: SyncCore) -> None:
        self._c = core

    def list(
        self,
        dataset_id: int,
        *,
        limit: int | None = None,
        offset: int | None = None,
        caption_state: str | None = None,
        flag: str | None = None,
        search: str | None = None,
    ) -> list[Image]:
        """The dataset's images (all of them by default). Tailor: ``limit``/``offset`` page through
        them; ``caption_state`` (missing, automatic, manual, pending, failed), ``flag`` (a readiness
        flag such as ``exact_duplicate``) and ``search`` (text in the name or caption) filter them."""
        data = self._c.run(_list(dataset_id, limit, offset, caption_state, flag, search))
        return [Image.model_validate(i) for i in items_of(data, "images")]

    def delete_many(self, dataset_id: int, image_ids: Sequence[int]) -> int:
        """Tailor: delete these images of the dataset in one request, all or none; returns the count."""
        return int(self._c.run(_delete_many(dataset_id, image_ids))["deleted"])

    def get(self, dataset_id: int, image_id: int) -> Image:
        return Image.model_validate(self._c.run(Call("GET", f"{D}/{dataset_id}/images/{image_id}")))

    def upload(
        self,
        dataset_id: int,
        source: FileInput,
        *,
        image_name: str | None = None,
        increase_resolution: bool | None = None,
        content_moderation: bool | None = None,
    ) -> Image:
        """Upload one image from a path, bytes or an http(s) URL."""
        call = _upload(dataset_id, source, image_name, increase_resolution, content_moderation)
        return Image.model_validate(self._c.run(call))

    def upload_many(
        self,
        dataset_id: int,
        sources: Sequence[FileInput],
        *,
        increase_resolution: bool | None = None,
        on_progress: ProgressFn | None = None,
        stop_on_error: bool = False,
    ) -> builtins.list[UploadResult]:
        """Upload images one by one; a failed file is reported in its result, not raised."""
        results: list[UploadResult] = []
        for src in sources:
            res = UploadResult(src)
            try:
                res.image = self.upload(dataset_id, src, increase_resolution=increase_resolution)
            except TailorError as exc:
                if stop_on_error:
                    raise
                res.error = exc
            results.append(res)
            if on_progress:
                on_progress(len(results), len(sources), res)
        return results

    def update_caption(self, dataset_id: int, image_id: int, caption: str | dict[str, Any]) -> Image:
        """Set a caption by hand (it must parse as a structured prompt)."""
        return Image.model_validate(self._c.run(_caption(dataset_id, image_id, caption, False)))

    def regenerate_caption(self, dataset_id: int, image_id: int) -> Image:
        return Image.model_validate(self._c.run(_caption(dataset_id, image_id, None, True)))

    def delete(self, dataset_id: int, image_id: int) -> None:
        self._c.run(Call("DELETE", f"{D}/{dataset_id}/images/{image_id}"))

    def bulk_upload(
        self, dataset_id: int, source: FileInput, *, content_moderation: bool | None = None
    ) -> BulkUploadStatus:
        """Start a bulk upload to an advanced dataset: a zip (path, bytes or URL) or a folder of images."""
        return _bulk_status(self._c.run(_bulk(dataset_id, source, content_moderation)))

    def bulk_upload_status(self, dataset_id: int) -> BulkUploadStatus:
        return _bulk_status(self._c.run(Call("GET", f"{D}/{dataset_id}/images/bulk-upload/status")))

    def wait_for_bulk_upload(
        self,
        dataset_id: int,
        *,
        timeout: float = 3600,
        interval: float = 1.0,
        on_progress: Callable[[BulkUploadStatus], None] | None = None,
    ) -> BulkUploadStatus:
        """Poll the bulk upload until it is completed or failed."""
        deadline = time.monotonic() + timeout
        while True:
            st = self.bulk_upload_status(dataset_id)
            if on_progress:
                on_progress(st)
            if st.is_terminal:
                return st
            if time.monotonic() > deadline:
                raise TailorTimeoutError(f"bulk upload of dataset {dataset_id} not done after {timeout}s")
            time.sleep(interval)


class AsyncImages:
    """Images of a dataset (async)."""

    def __init__(self, core: AsyncCore) -> None:
        self._c = core

    async def list(
        self,
        dataset_id: int,
        *,
        limit: int | None = None,
        offset: int | None = None,
        caption_state: str | None = None,
        flag: str | None = None,
        search: str | None = None,
    ) -> list[Image]:
        data = await self._c.run(_list(dataset_id, limit, offset, caption_state, flag, search))
        return [Image.model_validate(i) for i in items_of(data, "images")]

    async def delete_many(self, dataset_id: int, image_ids: Sequence[int]) -> int:
        return int((await self._c.run(_delete_many(dataset_id, image_ids)))["deleted"])

    async def get(self, dataset_id: int, image_id: int) -> Image:
        return Image.model_validate(await self._c.run(Call("GET", f"{D}/{dataset_id}/images/{image_id}")))

    async def upload(
        self,
        dataset_id: int,
        source: FileInput,
        *,
        image_name: str | None = None,
        increase_resolution: bool | None = None,
        content_moderation: bool | None = None,
    ) -> Image:
        call = _upload(dataset_id, source, image_name, increase_resolution, content_moderation)
        return Image.model_validate(await self._c.run(call))

    async def upload_many(
        self,
        dataset_id: int,
        sources: Sequence[FileInput],
        *,
        increase_resolution: bool | None = None,
        on_progress: ProgressFn | None = None,
        stop_on_error: bool = False,
    ) -> builtins.list[UploadResult]:
        results: list[UploadResult] = []
        for src in sources:
            res = UploadResult(src)
            try:
                res.image = await self.upload(dataset_id, src, increase_resolution=increase_resolution)
            except TailorError as exc:
                if stop_on_error:
                    raise
                res.error = exc
            results.append(res)
            if on_progress:
                on_progress(len(results), len(sources), res)
        return results

    async def update_caption(self, dataset_id: int, image_id: int, caption: str | dict[str, Any]) -> Image:
        return Image.model_validate(await self._c.run(_caption(dataset_id, image_id, caption, False)))

    async def regenerate_caption(self, dataset_id: int, image_id: int) -> Image:
        return Image.model_validate(await self._c.run(_caption(dataset_id, image_id, None, True)))

    async def delete(self, dataset_id: int, image_id: int) -> None:
        await self._c.run(Call("DELETE", f"{D}/{dataset_id}/images/{image_id}"))

    async def bulk_upload(
        self, dataset_id: int, source: FileInput, *, content_moderation: bool | None = None
    ) -> BulkUploadStatus:
        return _bulk_status(await self._c.run(_bulk(dataset_id, source, content_moderation)))

    async def bulk_upload_status(self, dataset_id: int) -> BulkUploadStatus:
        data = await self._c.run(Call("GET", f"{D}/{dataset_id}/images/bulk-upload/status"))
        return _bulk_status(data)

    async def wait_for_bulk_upload(
        self,
        dataset_id: int,
        *,
        timeout: float = 3600,
        interval: float = 1.0,
        on_progress: Callable[[BulkUploadStatus], None] | None = None,
    ) -> BulkUploadStatus:
        deadline = time.monotonic() + timeout
        while True:
            st = await self.bulk_upload_status(dataset_id)
            if on_progress:
                on_progress(st)
            if st.is_terminal:
                return st
            if time.monotonic() > deadline:
                raise TailorTimeoutError(f"bulk upload of dataset {dataset_id} not done after {timeout}s")
            await asyncio.sleep(interval)
