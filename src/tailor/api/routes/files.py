"""``/files/<key>``: blobs served through signed, expiring links (no api_token needed).

A link bound to an API token (``tok``) stops working when that token is revoked or deleted. The
content type comes from the bytes, never from the key: JPEG, PNG, WebP and MP4 are served inline
as themselves, anything else as an ``application/octet-stream`` (or zip) attachment, and every answer
carries a sandboxing Content-Security-Policy, so no blob can ever be rendered as a page of the API's
origin (with ``X-Content-Type-Options: nosniff`` from the middleware, a PNG with HTML appended stays
a PNG).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse, StreamingResponse

from tailor.api.deps import RuntimeDep
from tailor.domain.errors import NotFound, Unauthorized
from tailor.domain.signing import EXP_MAX, SIG_PATTERN
from tailor.store.blob_base import BlobNotFound, check_key
from tailor.store.blob_disk import DiskBlobStore
from tailor.store.db import read_session
from tailor.store.orgs import token_is_active

router = APIRouter(tags=["Service"])

# What a blob may be shown as: its first bytes decide.
_INLINE_TYPES: tuple[tuple[bytes, int, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"WEBP", 8, "image/webp"),  # RIFF....WEBP
)
SNIFF_BYTES = 16
# Even opened directly, a blob gets no script, no plugin, no same-origin access.
FILES_CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox"


def media_type_of(head: bytes) -> tuple[str, bool]:
    """(content type, inline?) of a blob that starts with ``head``."""
    for magic, offset, media in _INLINE_TYPES:
        if head[offset : offset + len(magic)] == magic and (offset == 0 or head.startswith(b"RIFF")):
            return media, True
    if head[4:8] == b"ftyp":  # an ISO media file (the clips of image-to-video)
        return "video/mp4", True
    if head.startswith(b"PK\x03\x04"):
        return "application/zip", False
    return "application/octet-stream", False


NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"


def _headers(key: str, inline: bool, name: str | None = None) -> dict[str, str]:
    # keys are [A-Za-z0-9._-/] only (check_key), and so is a chosen name: safe to quote as is
    name = name or key.rsplit("/", 1)[-1]
    return {
        "Cache-Control": "private, max-age=3600",
        "Content-Disposition": f'{"inline" if inline else "attachment"}; filename="{name}"',
        "Content-Security-Policy": FILES_CSP,
    }


@router.get("/files/{key:path}", include_in_schema=False)
def get_file(  # type: ignore[no-untyped-def]
    rt: RuntimeDep,
    key: str,
    exp: int = Query(..., ge=0, le=EXP_MAX),
    sig: str = Query(..., pattern=SIG_PATTERN),
    tok: int | None = Query(None, ge=1, le=2**31 - 1, description="The API token the link was issued to."),
    name: str | None = Query(None, pattern=NAME_PATTERN, description="The file name to save it as."),
):
    """A malformed ``exp``, ``sig`` or ``tok`` answers 400 naming it; a wrong or expired link 401."""
    try:
        check_key(key)
    except ValueError as e:
        raise NotFound("no such file") from e
    if not rt.signer.verify(key, exp, sig, token_id=tok):
        raise Unauthorized("link expired or signature invalid")
    if tok is not None:
        with read_session(rt.engine) as s:
            if not token_is_active(s, tok):
                raise Unauthorized("link no longer valid: the API token it was issued to was revoked")
    if isinstance(rt.blobs, DiskBlobStore):
        path = rt.blobs.local_path(key)
        if not path.is_file():
            raise NotFound("no such file")
        with path.open("rb") as f:
            media, inline = media_type_of(f.read(SNIFF_BYTES))
        return FileResponse(path, media_type=media, headers=_headers(key, inline, name))
    try:
        size = rt.blobs.size(key)
        chunks = rt.blobs.iter_chunks(key)
        head = next(chunks, b"")
    except BlobNotFound as e:
        raise NotFound("no such file") from e
    media, inline = media_type_of(head)
    headers = _headers(key, inline, name)
    headers["Content-Length"] = str(size)
    body: Iterator[bytes] = itertools.chain([head], chunks)
    return StreamingResponse(body, media_type=media, headers=headers)
