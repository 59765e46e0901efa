"""Test images, archives and a tiny local HTTP server (loopback only)."""

from __future__ import annotations

import http.server
import io
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager

from PIL import Image, ImageDraw


def image_bytes(
    size: tuple[int, int] = (1024, 1024),
    fmt: str = "JPEG",
    mode: str = "RGB",
    color: tuple[int, ...] = (200, 40, 40),
    exif_orientation: int | None = None,
) -> bytes:
    """An image with a shape on it, encoded as ``fmt``."""
    im = Image.new(mode, size, color if mode != "L" else color[0])
    draw = ImageDraw.Draw(im)
    w, h = size
    fill = (20, 220, 20, 255)[: len(im.getbands())] if mode != "L" else 90
    draw.rectangle((w // 4, h // 4, w // 2, h // 2), fill=fill)
    buf = io.BytesIO()
    kwargs: dict = {}
    if exif_orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = exif_orientation
        kwargs["exif"] = exif.tobytes()
    if fmt == "JPEG":
        kwargs["quality"] = 85
    im.save(buf, fmt, **kwargs)
    return buf.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` (no pixel data): a decompression-bomb probe."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 16))
        + chunk(b"IEND", b"")
    )


def zip_bytes(members: dict[str, bytes], *, symlinks: dict[str, str] | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o120777 << 16
            zf.writestr(info, target)
    return buf.getvalue()


@contextmanager
def serve(routes: dict[str, tuple[int, dict[str, str], bytes]]) -> Iterator[str]:
    """Serve fixed answers on 127.0.0.1; yields the base URL. ``routes``: path -> (status, headers, body)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            status, headers, body = routes.get(self.path, (404, {}, b"not found"))
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
