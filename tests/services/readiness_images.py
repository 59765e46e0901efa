"""Generated images with known defects for the readiness report (small, seeded, textured)."""

from __future__ import annotations

import io
import json

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from tests.services.v1_support import CAPTION


def textured(seed: int, size: tuple[int, int] = (160, 160)) -> Image.Image:
    """Many coloured ellipses: sharp edges everywhere, a distinct layout per seed."""
    rng = np.random.default_rng(seed)
    w, h = size
    im = Image.new("RGB", size, tuple(int(x) for x in rng.integers(0, 255, 3)))
    draw = ImageDraw.Draw(im)
    for _ in range(40):
        x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
        x1, y1 = x0 + int(rng.integers(8, max(9, w // 3))), y0 + int(rng.integers(8, max(9, h // 3)))
        draw.ellipse((x0, y0, x1, y1), fill=tuple(int(x) for x in rng.integers(0, 255, 3)))
    return im


def encode(im: Image.Image, fmt: str = "PNG", **kw: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def resized_copy(im: Image.Image) -> bytes:
    """The same picture, resized and re-encoded as a JPEG: other bytes, the same look."""
    return encode(im.resize((im.width + 40, im.height + 40), Image.Resampling.BICUBIC), "JPEG", quality=80)


def blurred(im: Image.Image, radius: float = 4.0) -> bytes:
    return encode(im.filter(ImageFilter.GaussianBlur(radius)))


def caption(description: str = "a green square on a red ground", **fields: object) -> str:
    return json.dumps(json.loads(CAPTION) | {"short_description": description} | fields)
