"""``POST /v2/video/generate/tailored/image-to-video``: animate a tailored model's image (beta)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from tailor.api.deps import BaseUrl, CurrentOrg, RuntimeDep, SessionDep
from tailor.api.routes.v2.protocol import answer
from tailor.api.schemas.v2_video import TailoredVideoRequest
from tailor.services import video

router = APIRouter(prefix="/v2", tags=["Video Generation"])

RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "sync=true and the clip was ready in time: `{result: {video_url, ...}, request_id}`"
    },
    202: {
        "description": "`{request_id, status_url}`; `GET status_url` gives `result.video_url` when COMPLETED"
    },
    400: {"description": "A parameter breaks a rule; the message names it."},
    404: {"description": "Unknown tailored model."},
    412: {"description": "The tailored model is not Completed."},
    413: {"description": "The image has too many bytes or pixels."},
    415: {"description": "The image is not a jpg, png or webp image."},
    422: {"description": "The image data is invalid (not base64, corrupt or truncated)."},
}


@router.post(
    "/video/generate/tailored/image-to-video",
    summary="Animate a tailored model's image into a 5-second MP4 (beta)",
    responses=RESPONSES,
)
async def image_to_video(
    body: TailoredVideoRequest, rt: RuntimeDep, session: SessionDep, principal: CurrentOrg, base_url: BaseUrl
) -> JSONResponse:
    """The image is the first frame; the motion prompt comes from the image described in the model's
    visual schema. 202 with a ``status_url``; the result holds ``video_url``."""
    req = await run_in_threadpool(
        video.submit_video, rt, session, principal, model_id=body.tailored_model_id, image=body.image,
        seed=body.seed, webhook_url=body.webhook_url,
    )  # fmt: skip
    return await answer(rt, base_url, req, body.sync)
