"""Images given to the bridge's endpoints: public URLs (fetched safely) or base64, checked to be images."""

from __future__ import annotations

from tailor.config import Settings
from tailor.domain.errors import InvalidInput
from tailor.infra.imaging import check_image, decode_base64
from tailor.infra.safe_fetch import fetch_url


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
        data = decode_base64(value, max_bytes=settings.max_image_bytes, field=field)
    check_image(data, max_bytes=settings.max_image_bytes, max_pixels=settings.max_image_pixels, field=field)
    return data


def load_images(values: list[str], settings: Settings, field: str) -> list[bytes]:
    return [load_image(v, settings, field) for v in values]
