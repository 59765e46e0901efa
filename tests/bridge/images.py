"""Small generated test images (numpy + Pillow): a background colour and a square 'subject'."""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image


def make_image(
    bg: tuple[int, int, int],
    fg: tuple[int, int, int] | None = None,
    *,
    at: tuple[float, float] = (0.5, 0.5),
    size: tuple[int, int] = (160, 120),
    box: float = 0.3,
    fmt: str = "PNG",
    noise: int = 0,
    seed: int = 0,
) -> bytes:
    """``size`` (w, h) image of colour ``bg`` with a ``fg`` square centred at fractional ``at``."""
    w, h = size
    arr = np.zeros((h, w, 3), np.int16)
    arr[:] = bg
    if fg is not None:
        side = int(min(w, h) * box)
        cx, cy = int(at[0] * w), int(at[1] * h)
        x0, y0 = max(0, cx - side // 2), max(0, cy - side // 2)
        arr[y0 : y0 + side, x0 : x0 + side] = fg
    if noise:
        arr += np.random.default_rng(seed).integers(-noise, noise + 1, arr.shape, dtype=np.int16)
    buf = io.BytesIO()
    Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).save(buf, fmt)
    return buf.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def sample_set(n: int = 5) -> list[bytes]:
    """``n`` images of one 'IP': a red subject on a dark blue ground, in different places."""
    spots = [
        (0.3, 0.3),
        (0.7, 0.3),
        (0.5, 0.5),
        (0.3, 0.7),
        (0.7, 0.7),
        (0.5, 0.3),
        (0.5, 0.7),
        (0.3, 0.5),
        (0.7, 0.5),
        (0.4, 0.4),
    ]
    return [make_image((20, 30, 90), (220, 40, 40), at=spots[i % len(spots)]) for i in range(n)]
