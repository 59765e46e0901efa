"""Dataset use cases: create, read, update (state machine), clone, delete, regenerate captions."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from tailor.bridge.prompts import validate_structured_prompt
from tailor.domain import datasets as rules
from tailor.domain.enums import CaptionSource, CaptionsUpdateStatus, DatasetStatus, UploadType
from tailor.domain.errors import Conflict, InvalidInput, NotFound
from tailor.domain.jobs import CAPTION_IMAGE, CaptionImage
from tailor.jobs.queue import enqueue
from tailor.services import readiness
from tailor.services.blob_refs import delete_model_files, delete_unreferenced
from tailor.services.context import Stores
from tailor.services.dataset_export import export_root
from tailor.store import datasets as store
from tailor.store import images as image_store
from tailor.store import measures as measure_store
from tailor.store import models as model_store
from tailor.store import projects as project_store
from tailor.store.db import session_scope
from tailor.store.tables import Dataset, Image, TailoredModel

CAPTION_JOB = "caption_image"
NAME_MAX = 500  # datasets.name is VARCHAR(500)


@dataclass
class DatasetView:
    """A dataset with what its public form shows besides its own columns."""

    dataset: Dataset
    images_count: int
    images: list[Image] | None = None
    models: list[TailoredModel] | None = None


def enqueue_caption(session: Session, image: Image) -> None:
    """Queue a caption job for ``image`` (same transaction) and mark its caption pending."""
    enqueue(
        session,
        CAPTION_IMAGE,
        CaptionImage(image_id=image.id, dataset_id=image.dataset_id),
        organization_id=image.organization_id,
    )
    image.caption_source = CaptionSource.pending
    image.caption_error = None


def validate_schema(text: str) -> str:
    """A visual schema must parse as a structured prompt (per-image fields may be empty)."""
    return validate_structured_prompt(text, field="visual_schema", schema=True)


def require_dataset(session: Session, organization_id: int, dataset_id: int, *, lock: bool) -> Dataset:
    if lock:
        ds = store.lock_dataset(session, organization_id, dataset_id)
    else:
        ds = store.get_dataset(session, organization_id, dataset_id)
    if ds is None:
        raise NotFound(f"dataset {dataset_id} not found")
    return ds


def create_dataset(
    rt: Stores, organization_id: int, project_id: int, name: str, upload_type: str
) -> DatasetView:
    with session_scope(rt.sessions) as s:
        if project_store.get_project(s, organization_id, project_id) is None:
            raise NotFound(f"project {project_id} not found")
        ds = store.add_dataset(
            s,
            organization_id,
            project_id=project_id,
            name=name,
            upload_type=upload_type,
            status=DatasetStatus.draft,
            captions_update_status=CaptionsUpdateStatus.empty,
        )
        return DatasetView(ds, 0)


def list_datasets(
    rt: Stores, organization_id: int, *, project_id: int | None = None, with_models: bool = False
) -> list[DatasetView]:
    with session_scope(rt.sessions) as s:
        if project_id is not None and project_store.get_project(s, organization_id, project_id) is None:
            raise NotFound(f"project {project_id} not found")
        rows = store.list_datasets(s, organization_id, project_id=project_id)
        ids = [d.id for d in rows]
        counts = store.image_counts(s, ids)
        models = store.models_by_dataset(s, ids) if with_models else {}
        return [DatasetView(d, counts[d.id], models=models.get(d.id) if with_models else None) for d in rows]


def get_dataset(
    rt: Stores, organization_id: int, dataset_id: int, *, max_images: int | None = None
) -> DatasetView:
    with session_scope(rt.sessions) as s:
        ds = require_dataset(s, organization_id, dataset_id, lock=False)
        images = image_store.list_images(s, dataset_id, limit=max_images) if max_images else None
        return DatasetView(ds, store.count_images(s, dataset_id), images=images)


def update_dataset(rt: Stores, organization_id: int, dataset_id: int, changes: dict[str, Any]) -> DatasetView:
    """Rename; set visual_schema (draft only); move draft -> completed (>= 5 images, and no blocking
    problem in the readiness report unless ``force``)."""
    changes = dict(changes)
    force = bool(changes.pop("force", False))
    schema = changes.get("visual_schema")
    if "visual_schema" in changes and schema is not None:
        schema = validate_schema(schema)
    if "name" in changes and (changes["name"] is None or not str(changes["name"]).strip()):
        raise InvalidInput("name must not be empty", field="name")
    with session_scope(rt.sessions) as s:
        ds = require_dataset(s, organization_id, dataset_id, lock=True)
        count = store.count_images(s, dataset_id)
        if "visual_schema" in changes and schema != ds.visual_schema:
            rules.check_editable(ds.status, "visual_schema")
            ds.visual_schema = schema
        prefix = changes.get("caption_prefix")
        if "caption_prefix" in changes and (prefix or None) != ds.caption_prefix:
            rules.check_editable(ds.status, "caption_prefix")
            ds.caption_prefix = (prefix or "").strip() or None
        if changes.get("status") is not None and rules.check_transition(ds.status, changes["status"]):
            # what a model could not train on is refused always; the readiness report's blocking
            # problems (duplicates, blur, ...) unless ``force``
            rules.check_can_complete(completion_problems(s, ds, count))
            problems = [] if force else readiness.completion_problems(s, ds)
            if problems:
                raise Conflict(
                    "the dataset has blocking problems (see GET /datasets/{id}/report): "
                    + "; ".join(problems)
                    + ". Fix them, or send force: true to complete it anyway",
                    field="status",
                )
            ds.status = changes["status"]
        if "name" in changes:
            ds.name = changes["name"]
        s.flush()
        return DatasetView(ds, count)


def completion_problems(session: Session, ds: Dataset, images_count: int | None = None) -> list[str]:
    """What keeps ``ds`` from being completed (see ``rules.completion_problems``); the one place
    that decides whether a dataset is ready to train."""
    count = store.count_images(session, ds.id) if images_count is None else images_count
    pending, missing = image_store.caption_gaps(session, ds.id)
    return rules.completion_problems(
        count, has_schema=bool(ds.visual_schema), pending_captions=pending, missing_captions=missing
    )


def clone_dataset(
    rt: Stores, organization_id: int, dataset_id: int, name: str | None, description: str | None
) -> DatasetView:
    """A new draft with the same schema and images. Image blobs are shared, not copied: a blob is
    deleted only when no image row uses it any more (see ``blob_refs``)."""
    with session_scope(rt.sessions) as s:
        src = require_dataset(s, organization_id, dataset_id, lock=True)
        copy = store.add_dataset(
            s,
            organization_id,
            project_id=src.project_id,
            name=name or f"Copy of {src.name}"[:NAME_MAX],
            description=description if description is not None else src.description,
            visual_schema=src.visual_schema,
            caption_prefix=src.caption_prefix,
            upload_type=src.upload_type,
            status=DatasetStatus.draft,
            captions_update_status=src.captions_update_status,
        )
        images = []
        pending = False
        for img in image_store.list_images(s, src.id):
            new = image_store.add_image(
                s,
                organization_id,
                copy.id,
                image_name=img.image_name,
                blob_key=img.blob_key,
                thumbnail_key=img.thumbnail_key,
                width=img.width,
                height=img.height,
                sha256=img.sha256,
                caption=img.caption,
                caption_source=img.caption_source,
                caption_error=img.caption_error,
                upload_source_url=img.upload_source_url,
                previous_caption=img.previous_caption,
                upload_source=img.upload_source,
                file_size=img.file_size,
                source_width=img.source_width,
                source_height=img.source_height,
            )
            measure_store.copy_measures(s, img.id, new.id)
            if img.caption_source == CaptionSource.pending:
                enqueue_caption(s, new)
                pending = True
            images.append(new)
        if pending:
            copy.captions_update_status = CaptionsUpdateStatus.in_progress
        elif copy.captions_update_status == CaptionsUpdateStatus.in_progress:
            copy.captions_update_status = CaptionsUpdateStatus.completed
        s.flush()
        return DatasetView(copy, len(images), images=images)


def delete_dataset(rt: Stores, organization_id: int, dataset_id: int) -> None:
    with session_scope(rt.sessions) as s:
        ds = require_dataset(s, organization_id, dataset_id, lock=True)
        if store.has_training_model(s, dataset_id):
            raise Conflict("a model is training on this dataset; stop it before deleting the dataset")
        keys = image_store.keys_of_dataset(s, dataset_id)
        model_prefixes = [m.blob_prefix for m in model_store.models_of_dataset(s, dataset_id)]
        store.delete_dataset(s, ds)
    delete_unreferenced(rt, keys)
    delete_model_files(rt, model_prefixes)
    rt.blobs.delete_prefix(export_root(organization_id, dataset_id))


class CaptionScope(StrEnum):
    """Which captions a regeneration touches."""

    all = "all"
    automatic = "automatic"  # every caption but those written by hand
    missing = "missing"  # only images with no caption (and none coming)


def _in_scope(img: Image, which: CaptionScope) -> bool:
    if which == CaptionScope.automatic:
        return img.caption_source != CaptionSource.manual
    if which == CaptionScope.missing:
        return img.caption is None and img.caption_source != CaptionSource.pending
    return True


def regenerate_captions(
    rt: Stores, organization_id: int, dataset_id: int, *, which: CaptionScope = CaptionScope.all
) -> DatasetView:
    """Queue a caption job for every image ``which`` selects; progress shows in
    ``captions_update_status``."""
    with session_scope(rt.sessions) as s:
        ds = require_dataset(s, organization_id, dataset_id, lock=True)
        rules.check_editable(ds.status, "captions")
        rules.check_has_schema(ds.visual_schema)
        images = image_store.list_images(s, dataset_id)
        chosen = [img for img in images if _in_scope(img, which)]
        for img in chosen:
            enqueue_caption(s, img)
        if chosen:
            ds.captions_update_status = CaptionsUpdateStatus.in_progress
        elif not any(img.caption_source == CaptionSource.pending for img in images):
            ds.captions_update_status = CaptionsUpdateStatus.completed
        s.flush()
        return DatasetView(ds, len(images))


def dataset_limit(rt: Stores, upload_type: str) -> int:
    return rules.max_images(
        upload_type or UploadType.basic,
        basic=rt.settings.basic_dataset_max_images,
        advanced=rt.settings.advanced_dataset_max_images,
    )
