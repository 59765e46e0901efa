"""H.264 MP4 from RGB frames with PyAV, byte-identical for identical frames.

No wall-clock value enters the file: the muxer and the encoder run in FFmpeg's bitexact mode (no
creation time, no library version strings), timestamps are frame indices at the clip's frame
rate, and x264 runs with a fixed thread count so that its output does not depend on the host.
"""

from __future__ import annotations

import io
import os
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

CODEC = "libx264"
PIXEL_FORMAT = "yuv420p"
X264_OPTIONS = {"crf": "18", "preset": "medium", "threads": "4", "tune": "film"}


@dataclass(frozen=True)
class ClipInfo:
    frames: int
    width: int
    height: int
    fps: float
    duration_s: float
    codec: str


def encode_mp4(frames: Any, fps: int) -> bytes:
    """``frames``: uint8 array (frames, height, width, 3) -> MP4 bytes (H.264, yuv420p, +faststart)."""
    import numpy as np

    video = np.ascontiguousarray(frames, dtype=np.uint8)
    if video.ndim != 4 or video.shape[-1] != 3:
        raise ValueError(f"frames must be (n, height, width, 3) uint8, not {video.shape}")
    _n, height, width, _ = video.shape
    if width % 2 or height % 2:
        raise ValueError(f"H.264 (yuv420p) needs even sides, not {width}x{height}")
    # A file, not a BytesIO: +faststart moves the index to the front in a second pass over the file,
    # so that a browser can start playing before the whole clip has arrived.
    fd, path = tempfile.mkstemp(suffix=".mp4")
    os.close(fd)
    try:
        _write(path, video, fps)
        with open(path, "rb") as f:
            return f.read()
    finally:
        os.unlink(path)


def _write(path: str, video: Any, fps: int) -> None:
    import av

    n, height, width, _ = video.shape
    with av.open(
        path, mode="w", format="mp4", options={"fflags": "+bitexact", "movflags": "+faststart"}
    ) as container:
        stream: Any = container.add_stream(CODEC, rate=Fraction(fps), options=dict(X264_OPTIONS))
        stream.width, stream.height, stream.pix_fmt = width, height, PIXEL_FORMAT
        stream.time_base = Fraction(1, fps)
        stream.codec_context.flags |= av.codec.context.Flags.bitexact
        for i in range(n):
            frame = av.VideoFrame.from_ndarray(video[i], format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def probe_mp4(data: bytes) -> ClipInfo:
    """Decode an MP4 fully: frame count, size, frame rate, duration and codec."""
    import av

    with av.open(io.BytesIO(data), mode="r") as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        rate = float(stream.average_rate or stream.base_rate or 0)
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        else:
            duration = float((container.duration or 0) / 1_000_000)
        return ClipInfo(frames, stream.width, stream.height, rate, duration, stream.codec_context.name)
