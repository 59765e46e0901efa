"""Per-image readiness measures, taken once at ingest on the thumbnail-sized pixels.

- ``phash``: the 64-bit perceptual hash of ``imagehash`` (DCT of a 32x32 grey image), as 16 hex
  digits. Two images whose hashes differ in few bits look alike (a resized or re-encoded copy).
- ``sharpness``: the variance of the Laplacian (``skimage.filters.laplace``) of the grey image at
  ``MEASURE_SIDE`` on its longest side, on the 0-255 scale. Blurred and flat images have little
  second-derivative energy; the threshold is in ``tailor.domain.readiness``.
- ``source_width`` x ``source_height``: the size as uploaded (after EXIF orientation), before any
  upscaling to the minimum side.

The measures are taken on a fixed working size so that they compare across images of any size and
cost the same for each (the pixels are already decoded for the thumbnail).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

MEASURE_SIDE = 256  # the longest side the measures are taken at


@dataclass(frozen=True)
class ImageMeasures:
    phash: str
    sharpness: float
    source_width: int
    source_height: int


def perceptual_hash(im: Image.Image) -> str:
    import imagehash

    return str(imagehash.phash(im))


def sharpness(im: Image.Image) -> float:
    """Variance of the Laplacian of the grey image, 0-255 scale."""
    from skimage.filters import laplace

    grey = np.asarray(im.convert("L"), dtype=np.float64)
    return float(laplace(grey, ksize=3).var())


def working_image(im: Image.Image) -> Image.Image:
    """``im`` with its longest side at most ``MEASURE_SIDE`` (a copy when it is resized)."""
    if max(im.size) <= MEASURE_SIDE:
        return im
    small = im.copy()
    small.thumbnail((MEASURE_SIDE, MEASURE_SIDE), Image.Resampling.LANCZOS, reducing_gap=2.0)
    return small


def measure(small: Image.Image, source_size: tuple[int, int]) -> ImageMeasures:
    """The measures of an image already reduced to the working size (see ``working_image``)."""
    return ImageMeasures(
        phash=perceptual_hash(small),
        sharpness=round(sharpness(small), 3),
        source_width=int(source_size[0]),
        source_height=int(source_size[1]),
    )
