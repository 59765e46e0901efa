"""Image use cases: upload one (file bytes or URL), list, read, edit the caption, delete."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from tailor.bridge.prompts import validate_structured_prompt
from tailor.domain import datasets as rules
from tailor.domain.enums import CaptionSource, CaptionsUpdateStatus
from tailor.domain.errors import InvalidInput, NotFound, TooLarge, Unprocessable, UpstreamUnavailable
from tailor.infra.imaging import ImageRules, NormalizedImage, normalize_image
from tailor.infra.outbound import OutboundSlots
from tailor.infra.safe_fetch import fetch_url
from tailor.services.blob_refs import delete_quietly, delete_unreferenced
from tailor.services.context import Stores
from tailor.services.datasets import dataset_limit, enqueue_caption, require_dataset
from tailor.store import datasets as dataset_store
from tailor.store import images as store
from tailor.store import measures as measure_store
from tailor.store.db import session_scope
from tailor.store.tables import Dataset, Image

_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f]")
MAX_NAME = 255


@dataclass(frozen=True)
class StoredBlobs:
    """Blob keys written for one image (before its row is committed)."""

    image_key: str
    thumbnail_key: str

    @property
    def keys(self) -> list[str]:
        return [self.image_key, self.thumbnail_key]


def clean_name(name: str | None, fallback: str) -> str:
    """The last path part of a client-given name, without control characters, at most 255 chars."""
    if name:
        base = re.split(r"[\\/]", name)[-1]
        base = _UNSAFE_NAME.sub("", base).strip()
        if base:
            return base[:MAX_NAME]
    return fallback


def write_blobs(rt: Stores, organization_id: int, img: NormalizedImage) -> StoredBlobs:
    """Store the image and its thumbnail under fresh keys (never shared with another upload)."""
    stem = f"images/{organization_id}/{uuid.uuid4().hex}"
    blobs = StoredBlobs(f"{stem}.{img.ext}", f"{stem}.thumb.jpg")
    try:
        rt.blobs.put(blobs.image_key, img.data, content_type=img.content_type)
        rt.blobs.put(blobs.thumbnail_key, img.thumbnail, content_type="image/jpeg")
    except BaseException:
        delete_quietly(rt, blobs.keys)
        raise
    return blobs


def insert_image(
    session: Session,
    ds: Dataset,
    img: NormalizedImage,
    blobs: StoredBlobs,
    *,
    image_name: str,
    upload_source_url: str | None,
) -> Image:
    """The image row (the dataset is locked by the caller); a caption job when it has a schema."""
    row = store.add_image(
        session,
        ds.organization_id,
        ds.id,
        image_name=image_name,
        blob_key=blobs.image_key,
        thumbnail_key=blobs.thumbnail_key,
        width=img.width,
        height=img.height,
        sha256=img.sha256,
        upload_source_url=upload_source_url,
    )
    if img.measures is not None:
        m = img.measures
        measure_store.save_measures(
            session,
            row.id,
            phash=m.phash,
            sharpness=m.sharpness,
            source_width=m.source_width,
            source_height=m.source_height,
        )
    if ds.visual_schema:
        enqueue_caption(session, row)
    return row


def _precheck(
    session: Session, organization_id: int, dataset_id: int, limit_of: object, lock: bool
) -> Dataset:
    ds = require_dataset(session, organization_id, dataset_id, lock=lock)
    rules.check_editable(ds.status, "image upload")
    rules.check_single_upload(ds.upload_type)
    rules.check_room(dataset_store.count_images(session, ds.id), 1, limit_of(ds.upload_type))  # type: ignore[operator]
    return ds


def fetch_image(rt: Stores, url: str, organization_id: int, slots: OutboundSlots) -> bytes:
    """Download ``image_url`` through the URL guard, within the size and time limits, in one of the
    organization's outbound slots (none free: 429 at once, nothing waits)."""
    s = rt.settings
    try:
        with slots.slot(organization_id, field="image_url"):
            return fetch_url(
                url,
                allow_private=s.allow_private_urls,
                max_bytes=min(s.url_fetch_max_bytes, s.max_image_bytes),
                timeout_s=s.url_fetch_timeout_s,
                field="image_url",
            )
    except UpstreamUnavailable as e:
        raise Unprocessable(e.message, field="image_url") from e
    except TooLarge:
        raise


def upload_image(
    rt: Stores,
    organization_id: int,
    dataset_id: int,
    data: bytes,
    *,
    image_name: str | None,
    increase_resolution: bool = True,
    upload_source_url: str | None = None,
    field: str = "file",
) -> Image:
    """Check, normalize and store one image; its row is committed only after its blobs exist."""

    def limit_of(upload_type: str) -> int:
        return dataset_limit(rt, upload_type)

    with session_scope(rt.sessions) as s:  # fail fast (404/409) before any pixel work
        _precheck(s, organization_id, dataset_id, limit_of, lock=False)
    img = normalize_image(
        data, ImageRules.from_settings(rt.settings), increase_resolution=increase_resolution, field=field
    )
    blobs = write_blobs(rt, organization_id, img)
    try:
        with session_scope(rt.sessions) as s:
            ds = _precheck(s, organization_id, dataset_id, limit_of, lock=True)
            name = clean_name(image_name, f"{img.sha256[:16]}.{img.ext}")
            return insert_image(s, ds, img, blobs, image_name=name, upload_source_url=upload_source_url)
    except BaseException:
        delete_quietly(rt, blobs.keys)
        raise


def list_images(rt: Stores, organization_id: int, dataset_id: int) -> list[Image]:
    with session_scope(rt.sessions) as s:
        require_dataset(s, organization_id, dataset_id, lock=False)
        return store.list_images(s, dataset_id)


def get_image(rt: Stores, organization_id: int, dataset_id: int, image_id: int) -> Image:
    with session_scope(rt.sessions) as s:
        require_dataset(s, organization_id, dataset_id, lock=False)
        img = store.get_image(s, dataset_id, image_id)
        if img is None:
            raise NotFound(f"image {image_id} not found in dataset {dataset_id}")
        return img


def validate_caption(text: str) -> str:
    return validate_structured_prompt(text, field="caption")


def update_image(
    rt: Stores,
    organization_id: int,
    dataset_id: int,
    image_id: int,
    *,
    caption: str | None,
    regenerate_caption: bool,
) -> Image:
    """Either set ``caption`` (source: manual) or queue a new automatic caption."""
    if caption is not None and regenerate_caption:
        raise InvalidInput("send either caption or regenerate_caption, not both", field="caption")
    if caption is None and not regenerate_caption:
        raise InvalidInput("send caption or regenerate_caption=true", field="caption")
    normalized = validate_caption(caption) if caption is not None else None
    with session_scope(rt.sessions) as s:
        ds = require_dataset(s, organization_id, dataset_id, lock=True)
        img = store.get_image(s, dataset_id, image_id)
        if img is None:
            raise NotFound(f"image {image_id} not found in dataset {dataset_id}")
        rules.check_editable(ds.status, "caption")
        if normalized is not None:
            img.caption = normalized
            img.caption_source = CaptionSource.manual
            img.caption_error = None
        else:
            rules.check_has_schema(ds.visual_schema)
            enqueue_caption(s, img)
            if ds.captions_update_status != CaptionsUpdateStatus.in_progress:
                ds.captions_update_status = CaptionsUpdateStatus.in_progress
        s.flush()
        return img


def delete_image(rt: Stores, organization_id: int, dataset_id: int, image_id: int) -> None:
    with session_scope(rt.sessions) as s:
        ds = require_dataset(s, organization_id, dataset_id, lock=True)
        img = store.get_image(s, dataset_id, image_id)
        if img is None:
            raise NotFound(f"image {image_id} not found in dataset {dataset_id}")
        rules.check_editable(ds.status, "image delete")
        keys = [img.blob_key, img.thumbnail_key]
        store.delete_image(s, img)
    delete_unreferenced(rt, keys)
