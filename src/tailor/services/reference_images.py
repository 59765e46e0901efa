"""Reference images sent with a v2 request: URLs are checked and fetched by the worker; inline
(base64) images are checked here and kept in the blob store, so a job row never holds image bytes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from tailor.infra.imaging import check_image, decode_base64
from tailor.infra.safe_fetch import check_public_url, fetch_url
from tailor.services.context import Stores


@dataclass
class ReferenceImages:
    keys: list[str] = field(default_factory=list)  # blob keys of inline images
    urls: list[str] = field(default_factory=list)  # http(s) URLs, fetched when the job runs


def decode_image(value: str, *, max_bytes: int, max_pixels: int, field: str = "images") -> tuple[bytes, str]:
    """A base64 image (optionally a data: URI) -> (bytes, extension), checked to be JPEG/PNG/WEBP."""
    data = decode_base64(value, max_bytes=max_bytes, field=field)
    return data, check_image(data, max_bytes=max_bytes, max_pixels=max_pixels, field=field)


def store_reference_images(
    rt: Stores, organization_id: int, values: list[str], *, field: str = "images"
) -> ReferenceImages:
    """Check every entry; keep inline images as blobs (removed again if a later entry is refused).

    The caller removes ``keys`` if its own transaction then fails."""
    out = ReferenceImages()
    try:
        for i, value in enumerate(values):
            entry = f"{field}.{i}"
            if value.startswith(("http://", "https://")):
                check_public_url(value, allow_private=rt.settings.allow_private_urls, field=entry)
                out.urls.append(value)
                continue
            data, ext = decode_image(
                value,
                max_bytes=rt.settings.max_image_bytes,
                max_pixels=rt.settings.max_image_pixels,
                field=entry,
            )
            key = f"requests/{organization_id}/{uuid.uuid4().hex}.{ext}"
            rt.blobs.put(key, data)
            out.keys.append(key)
    except BaseException:
        for key in out.keys:
            rt.blobs.delete(key)
        raise
    return out


def fetch_reference_images(
    rt: Stores, keys: list[str], urls: list[str], *, field: str = "images"
) -> list[bytes]:
    """The bytes of a request's reference images: stored ones, then URLs fetched with the URL guard
    (an unreachable URL is an upstream error, retried; a refused one is the client's, final)."""
    st = rt.settings
    images = [rt.blobs.get(key) for key in keys]
    for url in urls:
        images.append(
            fetch_url(
                url,
                allow_private=st.allow_private_urls,
                max_bytes=st.url_fetch_max_bytes,
                timeout_s=st.url_fetch_timeout_s,
                field=field,
            )
        )
    return images
