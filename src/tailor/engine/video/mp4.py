"""H.264 MP4 from RGB frames with PyAV, byte-identical for identical frames.

No wall-clock value enters the file: the muxer and the encoder run in FFmpeg's bitexact mode (no
creation time, no library version strings) and timestamps are frame indices at the clip's frame
rate. Three settings keep equal frames giving equal bytes:

- x264's macroblock-tree rate control is off (``mbtree=0``): with it, the same frames encoded
  repeatedly in a process that also runs torch gave a few different byte strings;
- x264 runs on one thread (PyAV otherwise asks for one per core, and the output may depend on it);
- RGB is converted to YUV 4:2:0 here, in integer arithmetic, rather than by swscale, whose SIMD
  paths differ between CPUs; every byte of each frame, row padding included, is written.
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
ENCODER_THREADS = 1
X264_OPTIONS = {"crf": "18", "preset": "medium", "tune": "film", "x264-params": "mbtree=0"}


@dataclass(frozen=True)
class ClipInfo:
    frames: int
    width: int
    height: int
    fps: float
    duration_s: float
    codec: str


def rgb_to_yuv420p(rgb: Any) -> Any:
    """(height, width, 3) uint8 RGB -> (height * 3 / 2, width) uint8 planar YUV 4:2:0 (BT.601,
    limited range, chroma from the mean of each 2x2 block), in integers only."""
    import numpy as np

    px = rgb.astype(np.int32)
    r, g, b = px[..., 0], px[..., 1], px[..., 2]
    y = ((66 * r + 129 * g + 25 * b + 128) >> 8) + 16
    h, w = r.shape
    quad = px.reshape(h // 2, 2, w // 2, 2, 3)
    m = (quad[:, 0, :, 0] + quad[:, 0, :, 1] + quad[:, 1, :, 0] + quad[:, 1, :, 1] + 2) >> 2
    r2, g2, b2 = m[..., 0], m[..., 1], m[..., 2]
    u = ((-38 * r2 - 74 * g2 + 112 * b2 + 128) >> 8) + 128
    v = ((112 * r2 - 94 * g2 - 18 * b2 + 128) >> 8) + 128
    planes = np.concatenate([y.reshape(-1), u.reshape(-1), v.reshape(-1)])
    return np.clip(planes, 0, 255).astype(np.uint8).reshape(h * 3 // 2, w)


def yuv_frame(yuv: Any, width: int, height: int) -> Any:
    """A yuv420p frame whose every byte is set, the row padding included (zeros): the encoder
    reads whole rows, and memory left as it was found made equal frames encode differently."""
    import av
    import numpy as np

    frame = av.VideoFrame(width, height, PIXEL_FORMAT)
    chroma = yuv[height:].reshape(2, height // 2, width // 2)
    planes = (yuv[:height], chroma[0], chroma[1])
    for plane, data in zip(frame.planes, planes, strict=True):
        rows = np.zeros((data.shape[0], plane.line_size), dtype=np.uint8)
        rows[:, : data.shape[1]] = data
        plane.update(rows.tobytes())
    return frame


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
        stream.codec_context.thread_count = ENCODER_THREADS  # else PyAV asks for one per core
        for i in range(n):
            frame = yuv_frame(rgb_to_yuv420p(video[i]), width, height)
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
