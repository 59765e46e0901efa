"""``/files/<key>``: blobs served through signed, expiring links (no api_token needed).

A link bound to an API token (``tok``) stops working when that token is revoked or deleted.
"""

from __future__ import annotations

import mimetypes

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse, StreamingResponse

from tailor.api.deps import RuntimeDep
from tailor.domain.errors import NotFound, Unauthorized
from tailor.store.blob_base import BlobNotFound, check_key
from tailor.store.blob_disk import DiskBlobStore
from tailor.store.db import read_session
from tailor.store.orgs import token_is_active

router = APIRouter(tags=["Service"])


@router.get("/files/{key:path}", include_in_schema=False)
def get_file(  # type: ignore[no-untyped-def]
    rt: RuntimeDep,
    key: str,
    exp: int = Query(...),
    sig: str = Query(...),
    tok: int | None = Query(None, description="The API token the link was issued to."),
):
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
