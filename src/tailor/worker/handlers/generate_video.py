"""Kind ``GENERATE_VIDEO``: a tailored model's image -> structured description and motion prompt (VLM
bridge) -> clip (video pipeline, the image as first frame) -> MP4 in the blob store.

Result: ``{"video_key", "seed", "prompt", "structured_prompt", "width", "height", "frames", "fps",
"duration_s"}``; ``structured_prompt`` is the image described against the model's visual schema.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from tailor.bridge.motion import Subject, motion_prompt
from tailor.domain.jobs import GenerateVideo, PermanentJobError
from tailor.engine.video.generator import VideoGenerator, VideoRequest
from tailor.engine.video.pipeline import VideoModelUnavailable
from tailor.jobs.context import JobContext
from tailor.services.reference_images import fetch_reference_images
from tailor.services.video import IMAGE_FIELD, VideoModel, check_image, video_model

PROGRESS_INTERVAL_S = 0.5  # at most this often a progress heartbeat (it also learns of a cancel)


def _model(ctx: JobContext, model_id: int) -> VideoModel:
    """The model as it is now: deleted or no longer Completed since submit fails the job for good."""
    assert ctx.organization_id is not None
    with ctx.sessions() as s:
        return video_model(s, ctx.organization_id, model_id)


def _image(ctx: JobContext, payload: GenerateVideo) -> bytes:
    keys = [payload.image_key] if payload.image_key else []
    urls = [payload.image_url] if payload.image_url else []
    if not keys and not urls:
        raise PermanentJobError("generate_video payload: no image", code=500)
    data = fetch_reference_images(ctx, keys, urls, field=IMAGE_FIELD)[0]
    return data if keys else check_image(ctx, data).data  # a stored image was checked at submit


def _video(ctx: JobContext) -> VideoGenerator:
    try:
        return ctx.resources.video()
    except VideoModelUnavailable as e:
        raise PermanentJobError(str(e), code=503) from e


def generate_video(ctx: JobContext, payload: GenerateVideo) -> dict[str, Any]:
    """Animate the request's image with its tailored model's look and store the MP4."""
    model = _model(ctx, payload.model_id)
    image = _image(ctx, payload)
    ctx.progress(stage="describing")
    description = ctx.resources.bridge().caption(image, model.visual_schema)
    subject = Subject(ip_type=model.ip_type, ip_name=model.ip_name, ip_medium=model.ip_medium)
    prompt = motion_prompt(description, subject, payload.seed)
    ctx.progress(stage="loading")
    video = _video(ctx)
    last = [0.0]

    def on_step(step: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_INTERVAL_S or step == total:
            last[0] = now
            ctx.progress(stage="generating", step=step, total_steps=total)  # raises JobCancelled

    ctx.progress(stage="generating", step=0, total_steps=video.steps())
    clip = video.generate(VideoRequest(image=image, prompt=prompt, seed=payload.seed), on_step)
    ctx.progress(stage="storing")
    key = f"generated/{ctx.organization_id}/{uuid.uuid4().hex}.mp4"
    ctx.blobs.put(key, clip.mp4, "video/mp4")
    return {
        "video_key": key,
        "seed": payload.seed,
        "prompt": prompt,
        "structured_prompt": description,
        "width": clip.width,
        "height": clip.height,
        "frames": clip.frames,
        "fps": clip.fps,
        "duration_s": round(clip.duration_s, 3),
    }
