"""``/files/<key>``: blobs served through signed, expiring links (no api_token needed)."""

from __future__ import annotations

import mimetypes

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse, StreamingResponse

from tailor.api.deps import RuntimeDep
from tailor.domain.errors import NotFound, Unauthorized
from tailor.domain.signing import EXP_MAX, SIG_PATTERN
from tailor.store.blob_base import BlobNotFound, check_key
from tailor.store.blob_disk import DiskBlobStore

router = APIRouter(tags=["Service"])


@router.get("/files/{key:path}", include_in_schema=False)
def get_file(  # type: ignore[no-untyped-def]
    rt: RuntimeDep,
    key: str,
    exp: int = Query(..., ge=0, le=EXP_MAX),
    sig: str = Query(..., pattern=SIG_PATTERN),
):
    """A malformed ``exp`` or ``sig`` answers 400 naming it; a wrong or expired link 401."""
    try:
        check_key(key)
    except ValueError as e:
        raise NotFound("no such file") from e
    if not rt.signer.verify(key, exp, sig):
        raise Unauthorized("link expired or signature invalid")
    media = mimetypes.guess_type(key)[0] or "application/octet-stream"
    headers = {"Cache-Control": "private, max-age=3600"}
    if isinstance(rt.blobs, DiskBlobStore):
        path = rt.blobs.local_path(key)
        if not path.is_file():
            raise NotFound("no such file")
        return FileResponse(path, media_type=media, headers=headers)
    try:
        size = rt.blobs.size(key)
    except BlobNotFound as e:
        raise NotFound("no such file") from e
    headers["Content-Length"] = str(size)
    return StreamingResponse(rt.blobs.iter_chunks(key), media_type=media, headers=headers)
