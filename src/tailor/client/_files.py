"""Turning the many ways to name an image or a zip (path, bytes, URL) into request parts."""

from __future__ import annotations

import base64
import io
import mimetypes
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Union

from tailor.client._errors import TailorError

#: An image or archive: a filesystem path, raw bytes, or an http(s) URL.
FileInput = Union[str, os.PathLike, bytes]  # noqa: UP007 (runtime alias)

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp"})


@dataclass(frozen=True)
class FilePart:
    """One multipart file: read from ``path`` at send time, or from ``content``."""

    filename: str
    content_type: str
    path: Path | None = None
    content: bytes | None = None

    def read(self) -> bytes:
        if self.content is not None:
            return self.content
        assert self.path is not None
        return self.path.read_bytes()

    @property
    def size(self) -> int:
        if self.content is not None:
            return len(self.content)
        assert self.path is not None
        return self.path.stat().st_size


def is_url(value: object) -> bool:
    return isinstance(value, str) and value.lower().startswith(("http://", "https://"))


def _sniff_type(data: bytes) -> tuple[str, str]:
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png", ".png"
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg", ".jpg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", ".webp"
    if data[:4] == b"PK\x03\x04":
        return "application/zip", ".zip"
    return "application/octet-stream", ""


def as_path(value: str | os.PathLike) -> Path:
    path = Path(value).expanduser()
    if not path.is_file():
        raise TailorError(f"no such file: {path}")
    return path


def file_part(value: str | os.PathLike | bytes, filename: str | None = None) -> FilePart:
    """A multipart part for a path or bytes (not a URL)."""
    if isinstance(value, bytes):
        ctype, ext = _sniff_type(value)
        return FilePart(filename or f"upload{ext}", ctype, content=value)
    path = as_path(value)
    ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return FilePart(filename or path.name, ctype, path=path)


def image_string(value: FileInput) -> str:
    """An image as the API's JSON form: the URL itself, or base64 of the bytes."""
    if is_url(value):
        return str(value)
    if isinstance(value, str) and value.startswith("data:"):
        return value
    data = value if isinstance(value, bytes) else as_path(value).read_bytes()
    return base64.b64encode(data).decode("ascii")


def image_files(paths: list[str | os.PathLike]) -> list[Path]:
    """Expand files and folders into the image files they hold (jpg/jpeg/png/webp), sorted."""
    found: list[Path] = []
    for p in paths:
        path = Path(p).expanduser()
        if path.is_dir():
            found.extend(
                sorted(f for f in path.rglob("*") if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
            )
        elif path.is_file():
            found.append(path)
        else:
            raise TailorError(f"no such file or folder: {path}")
    return found


def zip_images(paths: list[Path]) -> bytes:
    """A zip archive (stored, not compressed: images are compressed already) of the given images."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        seen: set[str] = set()
        for i, path in enumerate(paths):
            name = path.name if path.name not in seen else f"{i}_{path.name}"
            seen.add(name)
            zf.write(path, arcname=name)
    return buf.getvalue()
