"""The v2 asynchronous protocol: answer a created request at once (202) or after waiting (200).

Routes create the request with :func:`tailor.services.requests.create_request` and return
``await answer(rt, base_url, req, body.sync)``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from anyio import to_thread
from fastapi.responses import JSONResponse
from sqlalchemy.orm import object_session

from tailor.bootstrap import Runtime
from tailor.domain.enums import RequestStatus
from tailor.domain.signing import LinkSigner
from tailor.services import requests as request_service
from tailor.services.requests import RequestView
from tailor.store.db import read_session
from tailor.store.tables import GenerationRequest

# Results whose fields are repeated at the top level of a sync answer (Bria's tailored pages list them).
TOP_LEVEL_FIELDS = ("image_url", "video_url", "structured_prompt", "seed")


def render_result(result: dict[str, Any], base_url: str, signer: LinkSigner) -> dict[str, Any]:
    """``<x>_key`` -> ``<x>_url`` signed links."""
    return request_service.render_result(result, base_url, signer)


def accepted(base_url: str, request_id: str) -> JSONResponse:
    """202 ``{request_id, status_url}``."""
    return JSONResponse(
        {"request_id": request_id, "status_url": request_service.status_url(base_url, request_id)},
        status_code=202,
    )


def _read_view(rt: Runtime, organization_id: int, request_id: str) -> RequestView | None:
    with read_session(rt.engine) as s:
        return request_service.get_view(s, organization_id, request_id)


async def wait_for(
    rt: Runtime, organization_id: int, request_id: str, timeout_s: float
) -> RequestView | None:
    """Poll the request until it is terminal or ``timeout_s`` passes; returns the last view."""
    deadline = time.monotonic() + timeout_s
    delay = 0.02
    while True:
        view = await to_thread.run_sync(_read_view, rt, organization_id, request_id)
        if view is None or view.terminal or time.monotonic() >= deadline:
            return view
        await asyncio.sleep(min(delay, max(deadline - time.monotonic(), 0)))
        delay = min(delay * 1.5, 0.25)


def completed(base_url: str, signer: LinkSigner, view: RequestView) -> JSONResponse:
    """200 ``{"result": {...}, "request_id"}`` plus the main result fields at the top level."""
    result = render_result(view.result or {}, base_url, signer)
    body: dict[str, Any] = {"result": result, "request_id": view.request_id}
    for name in TOP_LEVEL_FIELDS:
        if name in result:
            body[name] = result[name]
    return JSONResponse(body, status_code=200)


def failed(view: RequestView) -> JSONResponse:
    """The shared error shape, with the job's error code as the HTTP status."""
    code = view.error_code or 500
    status = code if 400 <= code <= 599 else 500
    body = {
        "error": {"code": code, "message": view.error_message or "the request failed", "details": ""},
        "request_id": view.request_id,
    }
    return JSONResponse(body, status_code=status)


async def answer(rt: Runtime, base_url: str, req: GenerationRequest, sync: bool) -> JSONResponse:
    """Commit the request, then answer 202 (``sync=false``, or the wait ran out), 200 with the result,
    or an error when the job failed."""
    req.base_url = base_url
    session = object_session(req)
    if session is not None:
        # The job must be visible to workers before we wait for it.
        session.commit()
    request_id, organization_id = req.request_id, req.organization_id
    signer = rt.signer.bound(req.token_id)  # links in the answer belong to the calling token
    if not sync:
        return accepted(base_url, request_id)
    view = await wait_for(rt, organization_id, request_id, rt.settings.sync_timeout_s)
    if view is None or view.status == RequestStatus.IN_PROGRESS:
        return accepted(base_url, request_id)
    if view.status == RequestStatus.COMPLETED:
        return completed(base_url, signer, view)
    return failed(view)
