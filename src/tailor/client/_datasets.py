"""Datasets, visual schemas and structured-prompt refinement: ``/v1/tailored-gen/...``."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Sequence
from typing import Any

from tailor.client._core import AsyncCore, Call, SyncCore, body, items_of
from tailor.client._errors import TailorTimeoutError
from tailor.client._files import FileInput, image_string
from tailor.client._models import Dataset

V1 = "/v1/tailored-gen"
D = f"{V1}/datasets"


def _schema_text(schema: str | dict[str, Any] | None) -> str | None:
    return json.dumps(schema) if isinstance(schema, dict) else schema


def _create(project_id: int, name: str, upload_type: str | None, extra: dict[str, Any]) -> Call:
    return Call("POST", D, json=body(project_id=project_id, name=name, upload_type=upload_type, **extra))


def _update(dataset_id: int, fields: dict[str, Any]) -> Call:
    if "visual_schema" in fields:
        fields["visual_schema"] = _schema_text(fields["visual_schema"])
    return Call("PUT", f"{D}/{dataset_id}", json=body(**fields))


def _visual_schema(images: Sequence[FileInput], content_moderation: bool | None) -> Call:
    payload = body(images=[image_string(i) for i in images], content_moderation=content_moderation)
    return Call("POST", f"{V1}/generate_visual_schema", json=payload, timeout=300)


def _refine(
    dataset_id: int,
    structured_prompt: str | dict[str, Any],
    instruction: str,
    context_images: Sequence[FileInput] | None,
) -> Call:
    payload = body(
        dataset_id=dataset_id,
        structured_prompt=_schema_text(structured_prompt),
        instruction=instruction,
        context_images=[image_string(i) for i in context_images] if context_images else None,
    )
    return Call("POST", f"{V1}/refine_structured_prompt", json=payload, timeout=300)


def _prefix(images: Sequence[FileInput]) -> Call:
    payload = {"images": [image_string(i) for i in images]}
    return Call("POST", f"{V1}/generate_prefix", json=payload, timeout=300)


def _text(data: Any, key: str) -> str:
    if isinstance(data, dict):
        value = data.get(key)
        if value is None:
            value = next((v for v in data.values() if isinstance(v, str)), "")
        return value if isinstance(value, str) else json.dumps(value)
    return str(data)


class Datasets:
    """Datasets, their visual schema and status."""

    def __init__(self, core: SyncCore) -> None:
        self._c = core

    def list(self) -> list[Dataset]:
        return [Dataset.model_validate(d) for d in items_of(self._c.run(Call("GET", D)), "datasets")]

    def create(self, project_id: int, name: str, *, upload_type: str | None = None, **extra: Any) -> Dataset:
        """Create a draft dataset; ``upload_type`` is ``basic`` (default) or ``advanced`` (zip uploads)."""
        return Dataset.model_validate(self._c.run(_create(project_id, name, upload_type, extra)))

    def get(self, dataset_id: int, *, max_images: int | None = None) -> Dataset:
        params = body(max_images=max_images)
        return Dataset.model_validate(self._c.run(Call("GET", f"{D}/{dataset_id}", params=params)))

    def update(self, dataset_id: int, **fields: Any) -> Dataset:
        """Change ``name``, ``visual_schema`` (a JSON string or dict) or ``status``."""
        return Dataset.model_validate(self._c.run(_update(dataset_id, fields)))

    def set_visual_schema(self, dataset_id: int, visual_schema: str | dict[str, Any]) -> Dataset:
        return self.update(dataset_id, visual_schema=visual_schema)

    def complete(self, dataset_id: int, *, force: bool = False) -> Dataset:
        """Mark the dataset completed (frozen; at least 5 images), ready for training. Tailor refuses
        (409) a dataset whose readiness report has blocking problems unless ``force``."""
        if force:
            return self.update(dataset_id, status="completed", force=True)
        return self.update(dataset_id, status="completed")

    def report(self, dataset_id: int) -> dict[str, Any]:
        """Tailor: the readiness report (duplicates, sharpness, captions, verdict, per-image flags)."""
        data: dict[str, Any] = self._c.run(Call("GET", f"{D}/{dataset_id}/report"))
        return data

    def delete(self, dataset_id: int) -> None:
        self._c.run(Call("DELETE", f"{D}/{dataset_id}"))

    def clone(self, dataset_id: int, name: str | None = None, description: str | None = None) -> Dataset:
        call = Call("POST", f"{D}/{dataset_id}/clone", json=body(name=name, description=description))
        return Dataset.model_validate(self._c.run(call))

    def regenerate_captions(self, dataset_id: int) -> None:
        """Re-caption every image in the background (see ``captions_update_status``)."""
        self._c.run(Call("PUT", f"{D}/{dataset_id}/images", json={}))

    def wait_for_captions(
        self,
        dataset_id: int,
        *,
        timeout: float = 600,
        interval: float = 1.0,
        on_progress: Callable[[Dataset], None] | None = None,
    ) -> Dataset:
        """Wait until no caption of the dataset is pending."""
        deadline = time.monotonic() + timeout
        while True:
            ds = self.get(dataset_id, max_images=200)
            if on_progress:
                on_progress(ds)
            pending = any(i.caption_source == "pending" for i in ds.images or [])
            if ds.captions_update_status != "in_progress" and not pending:
                return ds
            if time.monotonic() > deadline:
                raise TailorTimeoutError(f"captions of dataset {dataset_id} still pending after {timeout}s")
            time.sleep(interval)

    def generate_visual_schema(
        self, images: Sequence[FileInput], *, content_moderation: bool | None = None
    ) -> str:
        """A visual schema (JSON string) from 5–10 sample images (paths, bytes or URLs)."""
        return _text(self._c.run(_visual_schema(images, content_moderation)), "visual_schema")

    def refine_structured_prompt(
        self,
        dataset_id: int,
        structured_prompt: str | dict[str, Any],
        instruction: str,
        *,
        context_images: Sequence[FileInput] | None = None,
    ) -> str:
        """Change a schema or caption by a natural-language instruction; returns the new JSON string."""
        data = self._c.run(_refine(dataset_id, structured_prompt, instruction, context_images))
        return _text(data, "structured_prompt")

    def generate_prefix(self, images: Sequence[FileInput]) -> str:
        """A caption prefix (legacy models) from 1–6 images."""
        return _text(self._c.run(_prefix(images)), "prefix")


class AsyncDatasets:
    """Datasets, their visual schema and status (async)."""

    def __init__(self, core: AsyncCore) -> None:
        self._c = core

    async def list(self) -> list[Dataset]:
        data = await self._c.run(Call("GET", D))
        return [Dataset.model_validate(d) for d in items_of(data, "datasets")]

    async def create(
        self, project_id: int, name: str, *, upload_type: str | None = None, **extra: Any
    ) -> Dataset:
        return Dataset.model_validate(await self._c.run(_create(project_id, name, upload_type, extra)))

    async def get(self, dataset_id: int, *, max_images: int | None = None) -> Dataset:
        params = body(max_images=max_images)
        return Dataset.model_validate(await self._c.run(Call("GET", f"{D}/{dataset_id}", params=params)))

    async def update(self, dataset_id: int, **fields: Any) -> Dataset:
        return Dataset.model_validate(await self._c.run(_update(dataset_id, fields)))

    async def set_visual_schema(self, dataset_id: int, visual_schema: str | dict[str, Any]) -> Dataset:
        return await self.update(dataset_id, visual_schema=visual_schema)

    async def complete(self, dataset_id: int, *, force: bool = False) -> Dataset:
        if force:
            return await self.update(dataset_id, status="completed", force=True)
        return await self.update(dataset_id, status="completed")

    async def report(self, dataset_id: int) -> dict[str, Any]:
        data: dict[str, Any] = await self._c.run(Call("GET", f"{D}/{dataset_id}/report"))
        return data

    async def delete(self, dataset_id: int) -> None:
        await self._c.run(Call("DELETE", f"{D}/{dataset_id}"))

    async def clone(
        self, dataset_id: int, name: str | None = None, description: str | None = None
    ) -> Dataset:
        call = Call("POST", f"{D}/{dataset_id}/clone", json=body(name=name, description=description))
        return Dataset.model_validate(await self._c.run(call))

    async def regenerate_captions(self, dataset_id: int) -> None:
        await self._c.run(Call("PUT", f"{D}/{dataset_id}/images", json={}))

    async def wait_for_captions(
        self,
        dataset_id: int,
        *,
        timeout: float = 600,
        interval: float = 1.0,
        on_progress: Callable[[Dataset], None] | None = None,
    ) -> Dataset:
        deadline = time.monotonic() + timeout
        while True:
            ds = await self.get(dataset_id, max_images=200)
            if on_progress:
                on_progress(ds)
            pending = any(i.caption_source == "pending" for i in ds.images or [])
            if ds.captions_update_status != "in_progress" and not pending:
                return ds
            if time.monotonic() > deadline:
                raise TailorTimeoutError(f"captions of dataset {dataset_id} still pending after {timeout}s")
            await asyncio.sleep(interval)

    async def generate_visual_schema(
        self, images: Sequence[FileInput], *, content_moderation: bool | None = None
    ) -> str:
        return _text(await self._c.run(_visual_schema(images, content_moderation)), "visual_schema")

    async def refine_structured_prompt(
        self,
        dataset_id: int,
        structured_prompt: str | dict[str, Any],
        instruction: str,
        *,
        context_images: Sequence[FileInput] | None = None,
    ) -> str:
        data = await self._c.run(_refine(dataset_id, structured_prompt, instruction, context_images))
        return _text(data, "structured_prompt")

    async def generate_prefix(self, images: Sequence[FileInput]) -> str:
        return _text(await self._c.run(_prefix(images)), "prefix")
