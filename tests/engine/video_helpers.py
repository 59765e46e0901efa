"""Shared pieces of the video tests: the tiny video model (built once per session) and test images."""

from __future__ import annotations

import base64
import io
from pathlib import Path

from PIL import Image

from tests.conftest import session_dir


def tiny_video_dir_for(base: Path) -> Path:
    from tailor.engine.video.tiny import ensure_tiny_video_model

    return ensure_tiny_video_model(session_dir(base) / "tiny-video-models")


def picture(width: int = 96, height: int = 64, fmt: str = "PNG") -> bytes:
    """A small image with structure (a gradient and a square), so frames differ from noise."""
    im = Image.new("RGB", (width, height), (30, 90, 160))
    for x in range(width):
        for y in range(0, height, 4):
            im.putpixel((x, y), (x * 255 // max(width - 1, 1), 120, 60))
    im.paste((240, 200, 40), (width // 3, height // 3, width // 2, height // 2))
    buf = io.BytesIO()
    im.save(buf, fmt)
    return buf.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
