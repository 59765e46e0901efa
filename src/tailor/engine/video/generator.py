"""The video service of a worker: one warm image-to-video pipeline, one clip at a time."""

from __future__ import annotations

import io
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tailor.config import Settings
from tailor.engine.video.mp4 import encode_mp4
from tailor.engine.video.profile import CLIP_SECONDS, VideoProfile, read_profile

log = logging.getLogger(__name__)

# What Wan's authors keep out of a clip by default, in English.
NEGATIVE_PROMPT = (
    "static frame, frozen, flicker, blurry details, subtitles, text overlay, watermark, overall gray, "
    "worst quality, low quality, JPEG artifacts, deformed, distorted anatomy, extra limbs, fused fingers, "
    "poorly drawn face, messy background, walking backwards"
)


@dataclass(frozen=True)
class VideoRequest:
    """One clip: ``image`` (encoded bytes) is the first frame, ``prompt`` says how it moves."""

    image: bytes
    prompt: str
    seed: int
    negative_prompt: str | None = None
    seconds: float = CLIP_SECONDS


@dataclass(frozen=True)
class VideoClip:
    mp4: bytes
    width: int
    height: int
    frames: int
    fps: int
    duration_s: float
    steps: int


def first_frame(image: bytes, width: int, height: int) -> Any:
    """The image cropped to the clip's aspect ratio (centred) and resized to (width, height)."""
    from PIL import Image, ImageOps

    with Image.open(io.BytesIO(image)) as im:
        rgb = ImageOps.exif_transpose(im).convert("RGB")
    return ImageOps.fit(rgb, (width, height), method=Image.Resampling.LANCZOS, centering=(0.5, 0.5))


class VideoGenerator:
    """A loaded video pipeline with its profile; :meth:`generate` is serialised by a lock."""

    def __init__(
        self, settings: Settings, pipe: Any | None = None, profile: VideoProfile | None = None
    ) -> None:
        from tailor.engine.video.pipeline import load_video_pipeline

        self.settings = settings
        source = ""
        if pipe is None:
            pipe, source = load_video_pipeline(settings)
        self.pipe: Any = pipe
        self.profile = profile or read_profile(source or getattr(pipe, "name_or_path", ""), dict(pipe.config))
        self.lock = threading.Lock()

    def steps(self) -> int:
        """Steps per clip: ``TAILOR_VIDEO_STEPS`` or the model's default, capped by ``TAILOR_MAX_STEPS``."""
        steps = self.settings.video_steps or self.profile.steps
        cap = self.settings.max_steps
        return min(steps, cap) if cap else steps

    def size_for(self, image: bytes) -> tuple[int, int]:
        from PIL import Image

        with Image.open(io.BytesIO(image)) as im:
            return self.profile.size_for(im.width, im.height)

    def generate(self, req: VideoRequest, on_step: Callable[[int, int], None] | None = None) -> VideoClip:
        """Render one clip and encode it as MP4; ``on_step(step, total)`` after each denoising step
        (it may raise to stop the clip, e.g. on cancel)."""
        import numpy as np
        import torch

        width, height = self.size_for(req.image)
        frames = self.profile.frames(req.seconds)
        steps = self.steps()
        image = first_frame(req.image, width, height)
        with self.lock:
            started = time.perf_counter()
            generator = torch.Generator(device="cpu").manual_seed(int(req.seed))

            def step_end(_pipe: Any, i: int, _t: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
                if on_step is not None:
                    on_step(i + 1, steps)
                return kwargs

            out = self.pipe(
                image=image,
                prompt=req.prompt,
                negative_prompt=req.negative_prompt or NEGATIVE_PROMPT,
                width=width,
                height=height,
                num_frames=frames,
                num_inference_steps=steps,
                guidance_scale=self.profile.guidance_scale,
                max_sequence_length=self.profile.max_sequence_length,
                generator=generator,
                output_type="np",
                callback_on_step_end=step_end,
            )
            video = np.clip(np.asarray(out.frames[0], dtype=np.float32) * 255.0 + 0.5, 0, 255).astype(
                np.uint8
            )
            mp4 = encode_mp4(video, self.profile.fps)
            log.info(
                "rendered a %dx%d clip of %d frames in %.2fs (%d steps)",
                width, height, len(video), time.perf_counter() - started, steps,
            )  # fmt: skip
        n = int(video.shape[0])
        return VideoClip(mp4, width, height, n, self.profile.fps, n / self.profile.fps, steps)
