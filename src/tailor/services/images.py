"""Image use cases: upload one (file bytes or URL), list, read, edit the caption, delete."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from tailor.bridge.prompts import validate_structured_prompt
from tailor.domain import datasets as rules
from tailor.domain.enums import CaptionSource, CaptionState, CaptionsUpdateStatus, UploadSource
from tailor.domain.errors import InvalidInput, NotFound, TooLarge, Unprocessable, UpstreamUnavailable
from tailor.domain.readiness import Flag
from tailor.infra.imaging import ImageRules, NormalizedImage, normalize_image
from tailor.infra.outbound import OutboundSlots
from tailor.infra.safe_fetch import fetch_url
from tailor.services.blob_refs import delete_quietly, delete_unreferenced
from tailor.services.context import Stores
from tailor.services.datasets import dataset_limit, enqueue_caption, require_dataset
from tailor.services.readiness import report_in as readiness_report
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
    upload_source: UploadSource,
) -> Image:
    """The image row (the dataset is locked by the caller); a caption job when it has a schema."""
    m = img.measures
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
        upload_source=upload_source,
        file_size=len(img.data),
        source_width=m.source_width if m is not None else None,
        source_height=m.source_height if m is not None else None,
    )
    if m is not None:
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
        ds.captions_update_status = CaptionsUpdateStatus.in_progress  # completed when the last one is done
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
    moderate: Callable[[bytes], str | None] | None = None,
) -> Image:
    """Check, normalize and store one image; its row is committed only after its blobs exist.
    ``moderate`` (the request's content_moderation with a moderation model configured) says why an
    image is blocked, or None; a blocked image is 422 and nothing is stored."""

    def limit_of(upload_type: str) -> int:
        return dataset_limit(rt, upload_type)

    with session_scope(rt.sessions) as s:  # fail fast (404/409) before any pixel work
        _precheck(s, organization_id, dataset_id, limit_of, lock=False)
    img = normalize_image(
        data, ImageRules.from_settings(rt.settings), increase_resolution=increase_resolution, field=field
    )
    reason = moderate(data) if moderate is not None else None
    if reason is not None:
        raise Unprocessable(f"the image was blocked by content moderation: {reason}", field=field)
    blobs = write_blobs(rt, organization_id, img)
    try:
        with session_scope(rt.sessions) as s:
            ds = _precheck(s, organization_id, dataset_id, limit_of, lock=True)
            name = clean_name(image_name, f"{img.sha256[:16]}.{img.ext}")
            source = UploadSource.url if upload_source_url else UploadSource.upload
            return insert_image(
                s,
                ds,
                img,
                blobs,
                image_name=name,
                upload_source_url=upload_source_url,
                upload_source=source,
            )
    except BaseException:
        delete_quietly(rt, blobs.keys)
        raise


def list_images(rt: Stores, organization_id: int, dataset_id: int) -> list[Image]:
    with session_scope(rt.sessions) as s:
        require_dataset(s, organization_id, dataset_id, lock=False)
        return store.list_images(s, dataset_id)


@dataclass(frozen=True)
class ImageQuery:
    """Filters and page of ``GET .../images`` (Tailor extensions; all optional)."""

    caption_state: CaptionState | None = None
    flag: Flag | None = None
    search: str | None = None
    limit: int | None = None
    offset: int = 0


@dataclass(frozen=True)
class ImagePage:
    images: list[Image]
    total: int  # images matching the filters, all pages


def find_images(rt: Stores, organization_id: int, dataset_id: int, query: ImageQuery) -> ImagePage:
    """The images matching ``query``. A readiness flag is taken from the dataset's report (built
    from its rows, as ``GET .../report`` does), so it is always current."""
    with session_scope(rt.sessions) as s:
        ds = require_dataset(s, organization_id, dataset_id, lock=False)
        only: set[int] | None = None
        if query.flag is not None:
            report = readiness_report(s, ds)
            only = {i["id"] for i in report["images"] if query.flag in i["flags"]}
        images, total = store.find_images(
            s,
            dataset_id,
            caption_state=query.caption_state,
            search=query.search,
            only_ids=only,
            limit=query.limit,
            offset=query.offset,
        )
        return ImagePage(images, total)


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
            if img.caption is not None and img.caption != normalized:
                img.previous_caption = img.caption
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


MAX_BULK_DELETE = 5000


def delete_images(rt: Stores, organization_id: int, dataset_id: int, image_ids: list[int]) -> int:
    """Delete several images of one dataset in one transaction: all of them or none (an id not in
    the dataset is a 404 naming it; a completed dataset is a 409). Returns how many were deleted."""
    wanted = list(dict.fromkeys(image_ids))
    if not wanted:
        raise InvalidInput("image_ids must name at least one image", field="image_ids")
    if len(wanted) > MAX_BULK_DELETE:
        raise InvalidInput(f"image_ids may name at most {MAX_BULK_DELETE} images", field="image_ids")
    with session_scope(rt.sessions) as s:
        ds = require_dataset(s, organization_id, dataset_id, lock=True)
        rules.check_editable(ds.status, "image delete")
        images = store.images_with_ids(s, dataset_id, wanted)
        if len(images) != len(wanted):
            found = {i.id for i in images}
            missing = [i for i in wanted if i not in found]
            shown = ", ".join(str(i) for i in missing[:20]) + (" …" if len(missing) > 20 else "")
            raise NotFound(
                f"image_ids: {len(missing)} image(s) not found in dataset {dataset_id} ({shown}); "
                "nothing was deleted"
            )
        keys = [k for img in images for k in (img.blob_key, img.thumbnail_key)]
        store.delete_images(s, images)
    delete_unreferenced(rt, keys)
    return len(images)
