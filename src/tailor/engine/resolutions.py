"""Aspect ratio -> output size: FIBO's ~1 MP resolutions, and the tiny model's ~128x128 equivalents.

Every side is divisible by 16 (the pipeline's VAE scale factor).
"""

from __future__ import annotations

# (width, height) at about one megapixel, for the real model.
FIBO_SIZES: dict[str, tuple[int, int]] = {
    "1:1": (1024, 1024),
    "2:3": (832, 1248),
    "3:2": (1248, 832),
    "3:4": (880, 1168),
    "4:3": (1168, 880),
    "4:5": (912, 1136),
    "5:4": (1136, 912),
    "9:16": (768, 1344),
    "16:9": (1344, 768),
}

# The same ratios at about 128x128, for the tiny model (CPU development and tests).
TINY_SIZES: dict[str, tuple[int, int]] = {
    "1:1": (128, 128),
    "2:3": (96, 144),
    "3:2": (144, 96),
    "3:4": (112, 144),
    "4:3": (144, 112),
    "4:5": (112, 144),
    "5:4": (144, 112),
    "9:16": (96, 176),
    "16:9": (176, 96),
}

ASPECT_RATIOS: tuple[str, ...] = tuple(FIBO_SIZES)


def size_for(aspect_ratio: str, tiny: bool) -> tuple[int, int]:
    """(width, height) for ``aspect_ratio`` ("1:1", "16:9", ...); raises ValueError if unknown."""
    table = TINY_SIZES if tiny else FIBO_SIZES
    try:
        return table[aspect_ratio]
    except KeyError:
        raise ValueError(
            f"unknown aspect_ratio {aspect_ratio!r}; expected one of {', '.join(ASPECT_RATIOS)}"
        ) from None
