"""Images given to the bridge's endpoints: public URLs (fetched safely) or base64, checked to be images."""

from __future__ import annotations

import base64
import binascii
import io

from PIL import Image, UnidentifiedImageError

from tailor.config import Settings
from tailor.domain.errors import InvalidInput, TooLarge, UnsupportedMedia
from tailor.infra.safe_fetch import fetch_url

FORMATS = {"JPEG", "PNG", "WEBP"}


def check_image(data: bytes, settings: Settings, field: str) -> bytes:
    """``data`` if it is a JPEG, PNG or WEBP within the size limits; else a clear error."""
    if len(data) > settings.max_image_bytes:
        raise TooLarge(f"{field}: an image is larger than {settings.max_image_bytes} bytes", field=field)
    try:
        with Image.open(io.BytesIO(data)) as im:
            fmt = im.format or ""
            if im.width * im.height > settings.max_image_pixels:
                raise TooLarge(
                    f"{field}: an image has more than {settings.max_image_pixels} pixels", field=field
                )
            im.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as e:
        raise UnsupportedMedia(f"{field}: an entry is not a readable image", field=field) from e
    if fmt not in FORMATS:
        raise UnsupportedMedia(
            f"{field}: images must be png, jpg, jpeg or webp (got {fmt or 'unknown'})", field=field
        )
    return data


def decode_base64(value: str, settings: Settings, field: str) -> bytes:
    """Base64 (optionally a ``data:`` URI) -> bytes, within the size limit."""
    text = value.split(",", 1)[1] if value.startswith("data:") and "," in value else value
    text = "".join(text.split())
    if len(text) > settings.max_image_bytes * 4 // 3 + 8:
        raise TooLarge(f"{field}: an image is larger than {settings.max_image_bytes} bytes", field=field)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as e:
        raise InvalidInput(
            f"{field}: each entry must be an http(s) URL or base64 image data", field=field
        ) from e


def load_image(value: str, settings: Settings, field: str) -> bytes:
    """One entry of an ``images`` list: a public URL or base64 -> checked image bytes."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{field}: entries must be non-empty strings", field=field)
    value = value.strip()
    if value.startswith(("http://", "https://")):
        data = fetch_url(
            value,
            allow_private=settings.allow_private_urls,
            max_bytes=min(settings.url_fetch_max_bytes, settings.max_image_bytes),
            timeout_s=settings.url_fetch_timeout_s,
            field=field,
        )
    else:
        data = decode_base64(value, settings, field)
    return check_image(data, settings, field)


def load_images(values: list[str], settings: Settings, field: str) -> list[bytes]:
    return [load_image(v, settings, field) for v in values]
