"""Image intake rules: decode by content, refuse bombs, orient, flatten, upscale, thumbnail.

The format is decided by decoding with Pillow (jpg, png, webp), never by the file name. The pixel
count is checked from the header before any pixel is decoded. What is stored:

- the original bytes, when the image already meets every rule (RGB, no EXIF rotation, no
  transparency, a single frame, at least ``min_side`` on both sides): nothing is lost and nothing
  is re-encoded;
- otherwise a PNG of the normalized pixels (EXIF orientation applied, transparency composited on
  black, upscaled with Lanczos so the short side reaches ``min_side``). PNG is lossless, so the
  trainer sees exactly the normalized pixels and nothing degrades if the image is processed again;
  only images that needed a change pay its larger size.

Each image also gets a JPEG thumbnail whose longest side is ``thumbnail_side``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from tailor.config import Settings
from tailor.domain.errors import InvalidInput, PreconditionFailed, TooLarge, UnsupportedMedia

FORMATS = ("JPEG", "PNG", "WEBP")
_EXT = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
_CONTENT_TYPE = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
_ORIENTATION = 0x0112
PNG_COMPRESS_LEVEL = 3
THUMBNAIL_QUALITY = 85


@dataclass(frozen=True)
class ImageRules:
    """The limits an image must meet (from settings)."""

    min_side: int = 1024
    min_upscale_side: int = 256
    max_pixels: int = 64 * 1024 * 1024
    max_bytes: int = 50 * 1024 * 1024
    thumbnail_side: int = 256

    @classmethod
    def from_settings(cls, s: Settings) -> ImageRules:
        return cls(
            min_side=s.min_image_side,
            min_upscale_side=s.min_upscale_side,
            max_pixels=s.max_image_pixels,
            max_bytes=s.max_image_bytes,
            thumbnail_side=s.thumbnail_side,
        )


@dataclass(frozen=True)
class NormalizedImage:
    """What gets stored for one accepted image."""

    data: bytes
    ext: str
    content_type: str
    thumbnail: bytes
    width: int
    height: int
    sha256: str
    kept_original: bool


def decode_base64(
    value: str,
    *,
    max_bytes: int,
    field: str,
    message: str = "each entry must be an http(s) URL or base64 image data",
) -> bytes:
    """Base64 text (optionally a ``data:`` URI, whitespace ignored) -> bytes of at most ``max_bytes``;
    the size is checked before decoding. ``message`` says what was expected if the text is not base64."""
    text = value.split(",", 1)[1] if value.startswith("data:") and "," in value else value
    text = "".join(text.split())
    if len(text) * 3 // 4 > max_bytes + 3:
        raise TooLarge(f"{field}: the image is larger than {max_bytes} bytes", field=field)
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as e:
        raise InvalidInput(f"{field}: {message}", field=field) from e
    if len(data) > max_bytes:
        raise TooLarge(f"{field}: the image is larger than {max_bytes} bytes", field=field)
    return data


def check_image(data: bytes, *, max_bytes: int, max_pixels: int, field: str) -> str:
    """The file extension of ``data`` if it is a readable JPEG, PNG or WEBP within the limits (the
    pixel count read from the header, nothing decoded); else a clear error naming ``field``."""
    if len(data) > max_bytes:
        raise TooLarge(f"{field}: the image is larger than {max_bytes} bytes", field=field)
    try:
        with Image.open(io.BytesIO(data)) as im:
            fmt = im.format or ""
            if im.width * im.height > max_pixels:
                raise TooLarge(f"{field}: the image has more than {max_pixels} pixels", field=field)
            im.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as e:
        raise UnsupportedMedia(f"{field}: not a readable image", field=field) from e
    if fmt not in FORMATS:
        raise UnsupportedMedia(
            f"{field}: images must be png, jpg, jpeg or webp (got {fmt or 'unknown'})", field=field
        )
    return _EXT[fmt]


def _open(data: bytes, field: str) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(io.BytesIO(data), formats=FORMATS)
    except Image.DecompressionBombError as e:
        raise TooLarge(f"the image has too many pixels: {e}", field=field) from e
    except UnidentifiedImageError as e:
        raise UnsupportedMedia(
            "not a jpg, png or webp image (the format is checked by decoding the content)", field=field
        ) from e
    except (OSError, SyntaxError, ValueError) as e:
        raise InvalidInput(f"the image is corrupt: {e}", field=field) from e


def _has_alpha(im: Image.Image) -> bool:
    return im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info


def _check_size(w: int, h: int, rules: ImageRules, increase_resolution: bool, field: str) -> float:
    """Enforce the size rules; returns the upscale factor (1.0 when none is needed)."""
    if w * h > rules.max_pixels:
        raise TooLarge(
            f"the image is {w}x{h} = {w * h} pixels; the limit is {rules.max_pixels} pixels", field=field
        )
    short = min(w, h)
    if short >= rules.min_side:
        return 1.0
    if not increase_resolution:
        raise PreconditionFailed(
            f"the image is {w}x{h}; images must be at least {rules.min_side}x{rules.min_side} "
            "(or send increase_resolution=true to upscale it)",
            field=field,
        )
    if short < rules.min_upscale_side:
        raise PreconditionFailed(
            f"the image is {w}x{h}; images smaller than {rules.min_upscale_side}x"
            f"{rules.min_upscale_side} cannot be upscaled",
            field=field,
        )
    scale = rules.min_side / short
    if round(w * scale) * round(h * scale) > rules.max_pixels:
        raise TooLarge(
            f"the image is {w}x{h}; upscaled to a {rules.min_side} short side it would exceed "
            f"{rules.max_pixels} pixels",
            field=field,
        )
    return scale


def _thumbnail(im: Image.Image, side: int) -> bytes:
    thumb = im if im.mode == "RGB" else im.convert("RGB")
    if max(thumb.size) > side:
        thumb = thumb.copy() if thumb is im else thumb
        thumb.thumbnail((side, side), Image.Resampling.LANCZOS, reducing_gap=2.0)
    buf = io.BytesIO()
    thumb.save(buf, "JPEG", quality=THUMBNAIL_QUALITY)
    return buf.getvalue()


def _flatten(im: Image.Image) -> Image.Image:
    """RGB pixels; transparency composited on black."""
    if _has_alpha(im):
        rgba = im.convert("RGBA")
        black = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
        return Image.alpha_composite(black, rgba).convert("RGB")
    return im if im.mode == "RGB" else im.convert("RGB")


def normalize_image(
    data: bytes, rules: ImageRules, *, increase_resolution: bool = True, field: str = "file"
) -> NormalizedImage:
    """Apply every image rule to ``data``; raise a 4xx domain error naming ``field`` when one fails."""
    if len(data) > rules.max_bytes:
        raise TooLarge(f"the image is larger than {rules.max_bytes} bytes", field=field)
    if not data:
        raise InvalidInput("the image is empty", field=field)
    im = _open(data, field)
    fmt = im.format or ""
    try:
        orientation = int(im.getexif().get(_ORIENTATION, 1) or 1)
    except Exception:
        orientation = 1
    w, h = im.size
    if orientation in (5, 6, 7, 8):
        w, h = h, w
    scale = _check_size(w, h, rules, increase_resolution, field)
    keep = (
        scale == 1.0
        and orientation == 1
        and im.mode == "RGB"
        and not _has_alpha(im)
        and getattr(im, "n_frames", 1) == 1
    )
    try:
        if keep:
            if fmt == "JPEG":
                # Decode at reduced DCT scale: every byte of the entropy-coded stream is still
                # decoded (truncation and corruption are caught), at a fraction of the cost.
                im.draft("RGB", (rules.thumbnail_side, rules.thumbnail_side))
            im.load()
            thumb = _thumbnail(im, rules.thumbnail_side)
            return NormalizedImage(
                data=data,
                ext=_EXT[fmt],
                content_type=_CONTENT_TYPE[fmt],
                thumbnail=thumb,
                width=w,
                height=h,
                sha256=hashlib.sha256(data).hexdigest(),
                kept_original=True,
            )
        im.load()
        out = ImageOps.exif_transpose(im) or im
        out = _flatten(out)
        if scale != 1.0:
            size = (
                max(rules.min_side, round(out.width * scale)),
                max(rules.min_side, round(out.height * scale)),
            )
            out = out.resize(size, Image.Resampling.LANCZOS)
        buf = io.BytesIO()
        out.save(buf, "PNG", compress_level=PNG_COMPRESS_LEVEL)
        stored = buf.getvalue()
        thumb = _thumbnail(out, rules.thumbnail_side)
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise InvalidInput(f"the image is truncated or corrupt: {e}", field=field) from e
    finally:
        im.close()
    return NormalizedImage(
        data=stored,
        ext="png",
        content_type="image/png",
        thumbnail=thumb,
        width=out.width,
        height=out.height,
        sha256=hashlib.sha256(stored).hexdigest(),
        kept_original=False,
    )
