"""The video engine on the tiny Wan 2.2 TI2V model: built, saved, loaded with from_pretrained; clips
decode with the profile's frame count, size and a 5 s duration; equal inputs give equal bytes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tailor.config import Settings
from tailor.engine.video.generator import VideoGenerator, VideoRequest
from tailor.engine.video.mp4 import encode_mp4, probe_mp4
from tailor.engine.video.pipeline import (
    WAN22_TI2V_5B,
    VideoModelUnavailable,
    video_model_name,
    video_model_source,
)
from tailor.engine.video.profile import (
    CLIP_SECONDS,
    PROFILE_FILE,
    WAN21_I2V,
    WAN22_I2V_A14B,
    read_profile,
)
from tailor.engine.video.profile import (
    WAN22_TI2V_5B as TI2V_PROFILE,
)
from tailor.engine.video.tiny import TINY_PROFILE
from tests.engine.video_helpers import picture, tiny_video_dir_for


@pytest.fixture(scope="module")
def tiny_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_video_dir_for(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def video(tiny_video: Path, tmp_path_factory: pytest.TempPathFactory) -> VideoGenerator:
    home = tmp_path_factory.mktemp("video-home")
    return VideoGenerator(Settings(home=home, video_model=str(tiny_video), device="cpu"))


@pytest.mark.parametrize("profile", [TI2V_PROFILE, WAN22_I2V_A14B, WAN21_I2V, TINY_PROFILE])
def test_every_profile_makes_a_five_second_clip(profile: object) -> None:
    frames = profile.frames()  # type: ignore[attr-defined]
    assert (frames - 1) % 4 == 0  # Wan's VAE: 4k+1 frames
    assert abs(frames / profile.fps - CLIP_SECONDS) <= 0.05 * CLIP_SECONDS  # type: ignore[attr-defined]


def test_real_ti2v_defaults_are_the_published_ones() -> None:
    assert (TI2V_PROFILE.fps, TI2V_PROFILE.frames()) == (24, 121)
    assert TI2V_PROFILE.size_for(1024, 1024) == (928, 928)
    assert TI2V_PROFILE.size_for(1920, 1080) == (1248, 704)  # landscape, clamped to 1280x704's shape
    assert TI2V_PROFILE.size_for(1080, 1920) == (704, 1248)
    for w, h in (TI2V_PROFILE.size_for(1344, 768), TI2V_PROFILE.size_for(800, 1200)):
        assert w % 32 == 0 and h % 32 == 0 and w * h <= 1280 * 704


def test_profile_comes_from_the_saved_file_or_the_pipeline_config(tiny_video: Path, tmp_path: Path) -> None:
    assert read_profile(tiny_video, {}) == TINY_PROFILE
    assert json.loads((tiny_video / PROFILE_FILE).read_text())["fps"] == 1
    assert read_profile(tmp_path, {"expand_timesteps": True}) == TI2V_PROFILE
    assert read_profile(tmp_path, {"boundary_ratio": 0.9}) == WAN22_I2V_A14B


def test_model_names_resolve(tmp_path: Path) -> None:
    assert video_model_name(Settings(home=tmp_path)) == "tiny"  # auto with the tiny image model
    assert video_model_name(Settings(home=tmp_path, base_model="briaai/FIBO")) == WAN22_TI2V_5B
    assert video_model_source(Settings(home=tmp_path, video_model=WAN22_TI2V_5B)) == WAN22_TI2V_5B
    with pytest.raises(VideoModelUnavailable, match="model_index.json"):
        video_model_source(Settings(home=tmp_path, video_model=str(tmp_path)))


def test_tiny_model_is_the_real_wan_architecture(tiny_video: Path) -> None:
    index = json.loads((tiny_video / "model_index.json").read_text())
    assert index["_class_name"] == "WanImageToVideoPipeline"
    assert index["expand_timesteps"] is True
    assert index["transformer"] == ["diffusers", "WanTransformer3DModel"]
    assert index["vae"] == ["diffusers", "AutoencoderKLWan"]
    assert index["text_encoder"] == ["transformers", "UMT5EncoderModel"]
    assert sum(f.stat().st_size for f in tiny_video.rglob("*") if f.is_file()) < 5 * 1024 * 1024


def test_a_clip_decodes_with_the_profile_frames_size_and_duration(video: VideoGenerator) -> None:
    steps: list[tuple[int, int]] = []
    clip = video.generate(
        VideoRequest(picture(96, 64), "a scene drifts", seed=3), lambda s, t: steps.append((s, t))
    )
    assert steps == [(1, 2), (2, 2)]
    info = probe_mp4(clip.mp4)
    assert info.codec == "h264"
    assert (info.width, info.height) == (clip.width, clip.height) == (64, 32)
    assert info.frames == clip.frames == TINY_PROFILE.frames() == 5
    assert abs(info.duration_s - CLIP_SECONDS) <= 0.05 * CLIP_SECONDS
    assert clip.mp4[4:8] == b"ftyp" and b"moov" in clip.mp4[:2048]  # index first: plays while loading


def test_same_inputs_same_bytes_and_the_seed_matters(video: VideoGenerator) -> None:
    req = VideoRequest(picture(64, 64), "a scene drifts", seed=5)
    a, b = video.generate(req).mp4, video.generate(req).mp4
    assert a == b
    assert video.generate(VideoRequest(picture(64, 64), "a scene drifts", seed=6)).mp4 != a


def test_a_step_callback_that_raises_stops_the_clip(video: VideoGenerator) -> None:
    class Stop(Exception):
        pass

    def stop(step: int, total: int) -> None:
        raise Stop

    with pytest.raises(Stop):
        video.generate(VideoRequest(picture(), "x", seed=1), stop)


def test_mp4_encoding_is_byte_identical_and_timed_by_fps() -> None:
    frames = (np.random.default_rng(0).random((121, 32, 64, 3)) * 255).astype(np.uint8)
    a = encode_mp4(frames, 24)
    assert a == encode_mp4(frames, 24)
    info = probe_mp4(a)
    assert (info.frames, info.width, info.height, info.fps) == (121, 64, 32, 24.0)
    assert abs(info.duration_s - CLIP_SECONDS) <= 0.05 * CLIP_SECONDS
    with pytest.raises(ValueError, match="even"):
        encode_mp4(frames[:, :31], 24)


def test_mp4_bytes_do_not_depend_on_memory_or_on_torch_running_between() -> None:
    import torch

    frames = (np.random.default_rng(1).random((5, 64, 96, 3)) * 255).astype(np.uint8)
    frames[:, 20:40, 30:60] = 200  # some structure for the rate control to work on
    offset = np.empty(frames.size + 1, dtype=np.uint8)[1:].reshape(frames.shape)  # misaligned copy
    offset[...] = frames
    outputs = set()
    for copy in (frames, offset, frames.copy(), offset, frames):
        torch.randn(256, 256) @ torch.randn(256, 256)  # what a worker does between clips
        outputs.add(encode_mp4(copy, 1))
    assert len(outputs) == 1
