"""Legacy ``POST /v1/text-to-image/tailored/{model_id}``: v1 fields and answer, served by v2 generation."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from tailor.api.deps import BaseUrl, CurrentOrg, RuntimeDep, SessionDep
from tailor.api.routes.v2.protocol import failed, render_result, wait_for
from tailor.api.schemas.common import Id
from tailor.api.schemas.v1_legacy import LegacyTextToImageRequest
from tailor.domain.enums import RequestStatus
from tailor.services import legacy_generation as svc
from tailor.services.requests import status_url

router = APIRouter(tags=["Legacy"])


@router.post(
    "/v1/text-to-image/tailored/{model_id}",
    summary="Generate with a tailored model, v1 style (a bridge onto v2 generation)",
    responses={
        200: {"description": "`{result: [{urls: [url], seed, uuid}]}`, one entry per image"},
        202: {"description": "sync=false (or the wait ran out): `{request_id, status_url, requests}`"},
        400: {"description": "A field breaks a rule, or an unsupported v1 option (named) was sent"},
        404: {"description": "Unknown model"},
        412: {"description": "The model cannot generate (not Completed)"},
    },
)
async def text_to_image_tailored(
    model_id: Id,
    body: LegacyTextToImageRequest,
    rt: RuntimeDep,
    session: SessionDep,
    principal: CurrentOrg,
    base_url: BaseUrl,
) -> JSONResponse:
    req = svc.LegacyRequest(
        model_id=model_id, prompt=body.prompt, num_results=body.num_results,
        aspect_ratio=body.aspect_ratio.value, seed=body.seed, model_influence=body.model_influence,
        negative_prompt=body.negative_prompt, steps_num=body.steps_num,
        include_generation_prefix=body.include_generation_prefix,
        content_moderation=body.content_moderation,
    )  # fmt: skip
    rows = await run_in_threadpool(svc.submit, rt, session, principal, req)
    for row in rows:
        row.base_url = base_url
    ids = [r.request_id for r in rows]
    token_id, org_id = rows[0].token_id, principal.organization_id
    session.commit()  # the jobs must be visible to workers before we wait for them
    pending = {
        "request_id": ids[0],
        "status_url": status_url(base_url, ids[0]),
        "requests": [{"request_id": i, "status_url": status_url(base_url, i)} for i in ids],
    }
    if not body.sync:
        return JSONResponse(pending, status_code=202)
    signer = rt.signer.bound(token_id)
    deadline = time.monotonic() + rt.settings.sync_timeout_s
    results: list[dict[str, Any]] = []
    for request_id in ids:
        view = await wait_for(rt, org_id, request_id, max(deadline - time.monotonic(), 0.0))
        if view is None or view.status == RequestStatus.IN_PROGRESS:
            return JSONResponse(pending, status_code=202)
        if view.status != RequestStatus.COMPLETED:
            return failed(view)
        result = render_result(view.result or {}, base_url, signer)
        results.append({"urls": [result["image_url"]], "seed": result.get("seed"), "uuid": request_id})
    return JSONResponse({"result": results})
