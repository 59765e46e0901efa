"""``tailor video IMAGE --model ID -o clip.mp4 [--seed]`` against a live server on the tiny video model."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tailor.bootstrap import Runtime
from tailor.config import Settings
from tailor.engine.video.mp4 import probe_mp4
from tests.cli.conftest import Result
from tests.client.support import tiny_settings
from tests.engine.api_helpers import add_model
from tests.engine.video_helpers import picture, tiny_video_dir_for


@pytest.fixture
def settings(tmp_path: Path, tiny_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    video = tiny_video_dir_for(tmp_path_factory.getbasetemp())
    return tiny_settings(
        tmp_path / "home", f"sqlite:///{tmp_path / 't.db'}", tiny_dir, video_model=str(video)
    )


def test_video_saves_a_clip_and_json_names_it(
    tailor: Callable[..., Result], runtime: Runtime, token: str, tmp_path: Path
) -> None:
    model = add_model(runtime, token, None)
    image = tmp_path / "frame.jpg"
    image.write_bytes(picture(96, 64, fmt="JPEG"))
    out = tmp_path / "clips" / "clip.mp4"
    r = tailor("video", str(image), "--model", str(model), "-o", str(out), "--seed", "3", "--json")
    assert r.rc == 0, r.stderr
    assert r.json()["output"] == str(out) and r.json()["result"]["seed"] == 3
    info = probe_mp4(out.read_bytes())
    assert (info.frames, info.width, info.height) == (5, 64, 32)

    missing = tailor("video", str(tmp_path / "nope.png"), "--model", str(model))
    assert missing.rc != 0 and "no such file" in missing.stderr
    unknown = tailor("video", str(image), "--model", "999999")
    assert unknown.rc != 0 and "999999" in unknown.stderr
