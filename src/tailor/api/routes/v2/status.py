"""``GET /v2/status/{request_id}`` (Bria's status service) and its event stream (Tailor's addition)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from anyio import to_thread
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse

from tailor.api.deps import BaseUrl, CurrentOrg, RuntimeDep
from tailor.api.links import Signer
from tailor.api.sse import SSE_HEADERS, poll_events
from tailor.bootstrap import Runtime
from tailor.domain.signing import LinkSigner
from tailor.services import requests as request_service

router = APIRouter(prefix="/v2", tags=["Status"])

NOT_FOUND = {"status": "NOT_FOUND"}


def _body(
    rt: Runtime, organization_id: int, request_id: str, base_url: str, signer: LinkSigner
) -> dict[str, Any] | None:
    with rt.sessions() as s:
        view = request_service.get_view(
            s, organization_id, request_id, worker_timeout_s=rt.settings.heartbeat_timeout_s
        )
    if view is None:
        return None
    return request_service.status_body(view, base_url, signer)


@router.get(
    "/status/{request_id}",
    summary="Status of a v2 request",
    responses={404: {"description": 'Unknown request id: `{"status": "NOT_FOUND"}`'}},
)
def get_status(
    request_id: str, rt: RuntimeDep, principal: CurrentOrg, base_url: BaseUrl, signer: Signer
) -> JSONResponse:
    """IN_PROGRESS, COMPLETED (with ``result``), ERROR (with ``error``) or UNKNOWN."""
    body = _body(rt, principal.organization_id, request_id, base_url, signer)
    if body is None:
        return JSONResponse(NOT_FOUND, status_code=404)
    return JSONResponse(body)


@router.get(
    "/status/{request_id}/events",
    summary="Server-sent events of a v2 request",
    response_class=StreamingResponse,
    response_model=None,
    responses={200: {"content": {"text/event-stream": {}}}, 404: {"description": "Unknown request id"}},
)
async def status_events(
    request_id: str,
    request: Request,
    rt: RuntimeDep,
    principal: CurrentOrg,
    base_url: BaseUrl,
    signer: Signer,
) -> StreamingResponse | JSONResponse:
    """A ``status`` event whenever the status or progress changes; the stream ends at a terminal status."""
    org = principal.organization_id
    first = await to_thread.run_sync(_body, rt, org, request_id, base_url, signer)
    if first is None:
        return JSONResponse(NOT_FOUND, status_code=404)

    async def snapshot() -> tuple[dict[str, Any], bool]:
        body = await to_thread.run_sync(_body, rt, org, request_id, base_url, signer)
        if body is None:
            return NOT_FOUND, True
        return body, body["status"] != "IN_PROGRESS"

    events: AsyncIterator[str] = poll_events(snapshot, is_disconnected=request.is_disconnected)
    return StreamingResponse(events, media_type="text/event-stream", headers=SSE_HEADERS)
