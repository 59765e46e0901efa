"""``POST /v2/status/{request_id}/cancel`` (Tailor's addition): stop a v2 request's work."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from tailor.api.deps import BaseUrl, CurrentOrg, RuntimeDep, SessionDep
from tailor.api.links import Signer
from tailor.services import requests as request_service

router = APIRouter(prefix="/v2", tags=["Status"])


@router.post(
    "/status/{request_id}/cancel",
    summary="Cancel a v2 request",
    responses={404: {"description": 'Unknown request id: `{"status": "NOT_FOUND"}`'}},
)
def cancel(
    request_id: str,
    rt: RuntimeDep,
    session: SessionDep,
    principal: CurrentOrg,
    base_url: BaseUrl,
    signer: Signer,
) -> JSONResponse:
    """A queued request ends at once (ERROR, code 409 "cancelled"); a running one stops between steps
    and reads so shortly after. Answers the status body as it is now; a finished request is left as is."""
    view = request_service.cancel_request(session, principal.organization_id, request_id, rt.queue)
    if view is None:
        return JSONResponse({"status": "NOT_FOUND"}, status_code=404)
    return JSONResponse(request_service.status_body(view, base_url, signer))
