"""Image rules without HTTP: what is kept byte for byte, what is normalized, what is refused."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from tailor.domain.errors import InvalidInput, PreconditionFailed, TooLarge, UnsupportedMedia
from tailor.infra.imaging import ImageRules, normalize_image
from tests.services.factory import image_bytes, png_header_only

RULES = ImageRules()


def test_conforming_images_are_kept() -> None:
    for fmt, ext in (("JPEG", "jpg"), ("PNG", "png"), ("WEBP", "webp")):
        data = image_bytes(fmt=fmt)
        out = normalize_image(data, RULES)
        assert out.kept_original and out.data == data and out.ext == ext
        assert (out.width, out.height) == (1024, 1024)
        thumb = Image.open(io.BytesIO(out.thumbnail))
        assert thumb.format == "JPEG" and thumb.size == (256, 256)


def test_sha256_of_stored_bytes() -> None:
    import hashlib

    out = normalize_image(image_bytes((400, 300), fmt="PNG"), RULES)
    assert out.sha256 == hashlib.sha256(out.data).hexdigest()


def test_grayscale_is_converted() -> None:
    out = normalize_image(image_bytes(fmt="PNG", mode="L"), RULES)
    assert not out.kept_original and Image.open(io.BytesIO(out.data)).mode == "RGB"


@pytest.mark.parametrize(("orientation", "size"), [(3, (1024, 1536)), (6, (1536, 1024)), (8, (1536, 1024))])
def test_exif_orientation(orientation: int, size: tuple[int, int]) -> None:
    out = normalize_image(image_bytes((1024, 1536), exif_orientation=orientation), RULES)
    assert (out.width, out.height) == size and not out.kept_original


def test_orientation_counts_for_the_size_rule() -> None:
    # 2048x512 rotated is 512x2048: short side 512 -> upscaled to 1024x4096
    out = normalize_image(image_bytes((2048, 512), exif_orientation=6), RULES)
    assert (out.width, out.height) == (1024, 4096)


def test_palette_transparency_on_black() -> None:
    im = Image.new("P", (1024, 1024), 0)
    im.putpalette([255, 255, 255] + [0, 0, 255] * 255)
    im.info["transparency"] = 0
    buf = io.BytesIO()
    im.save(buf, "PNG", transparency=0)
    out = normalize_image(buf.getvalue(), RULES)
    assert Image.open(io.BytesIO(out.data)).convert("RGB").getpixel((5, 5)) == (0, 0, 0)


def test_upscale_limits() -> None:
    out = normalize_image(image_bytes((256, 256)), RULES)
    assert (out.width, out.height) == (1024, 1024)
    with pytest.raises(PreconditionFailed):
        normalize_image(image_bytes((255, 1024)), RULES)
    with pytest.raises(PreconditionFailed):
        normalize_image(image_bytes((1023, 2000)), RULES, increase_resolution=False)
    # upscaling a long thin image must not blow through the pixel cap
    with pytest.raises(TooLarge):
        normalize_image(image_bytes((256, 8000)), ImageRules(max_pixels=16 * 1024 * 1024))


def test_refusals() -> None:
    with pytest.raises(UnsupportedMedia):
        normalize_image(b"GIF89a" + b"\x00" * 100, RULES)
    with pytest.raises(UnsupportedMedia):
        normalize_image(image_bytes(fmt="TIFF"), RULES)
    with pytest.raises(InvalidInput):
        normalize_image(image_bytes()[:3000], RULES)
    with pytest.raises(InvalidInput):
        normalize_image(image_bytes(fmt="WEBP")[:2000], RULES)
    with pytest.raises(TooLarge):
        normalize_image(png_header_only(20000, 20000), RULES)
    with pytest.raises(TooLarge):
        normalize_image(image_bytes(), ImageRules(max_bytes=1000))
