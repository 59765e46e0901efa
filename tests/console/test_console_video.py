"""The playground's Animate action in Chromium: a tailored result becomes a clip that plays inline."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tailor.bootstrap import Runtime
from tailor.config import Settings
from tests.client.support import needs, tiny_settings
from tests.engine.api_helpers import adapter_bytes, add_model
from tests.engine.video_helpers import tiny_video_dir_for

expect = pytest.importorskip("playwright.sync_api", reason="playwright is not installed").expect

pytestmark = needs("POST", "/v2/video/generate/tailored/image-to-video")


@pytest.fixture
def settings(tmp_path: Path, tiny_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    video = tiny_video_dir_for(tmp_path_factory.getbasetemp())
    return tiny_settings(
        tmp_path / "home", f"sqlite:///{tmp_path / 't.db'}", tiny_dir, video_model=str(video)
    )


def test_animate_a_playground_result(page, shot, runtime: Runtime, token: str, tiny_dir: Path) -> None:  # type: ignore[no-untyped-def]
    model = add_model(runtime, token, adapter_bytes(tiny_dir, 1))
    page.goto("/console")
    page.wait_for_url(re.compile(r"#/signin$"))
    page.get_by_label("API token").fill(token)
    page.get_by_label("API token").press("Enter")
    page.wait_for_url(re.compile(r"#/projects$"))
    page.goto(f"/console#/playground?model={model}")
    page.get_by_label("Prompt", exact=True).fill("a circle on a plain background")
    page.locator("#pg-seed").fill("5")
    page.get_by_role("button", name="Generate image").click()
    card = page.locator("#gallery .card").first
    card.locator("img").wait_for(timeout=300_000)
    card.get_by_role("button", name="Animate").click()
    video = card.locator("video")
    video.wait_for(timeout=300_000)
    expect(card).to_contain_text("Clip ready: 5 frames at 1 fps")
    # The element loads the clip and knows its length (readyState >= HAVE_METADATA).
    page.wait_for_function(
        "v => v.readyState >= 1 && v.duration > 0", arg=video.element_handle(), timeout=60_000
    )
    duration = video.evaluate("v => v.duration")
    assert abs(duration - 5.0) <= 0.25
    assert video.evaluate("v => v.error") is None
    shot(page, "09-playground-animate")
    # The clip stays with the result when the page is drawn again.
    page.reload()
    expect(page.locator("#gallery .card").first.locator("video")).to_have_count(1)
    card = page.locator("#gallery .card").first
    expect(card.get_by_role("button", name="Animate again")).to_be_visible()
    # A long clip can be cancelled from the card: it stops between steps and says so.
    runtime.settings.video_steps, runtime.settings.max_steps = 500, None
    card.get_by_role("button", name="Animate again").click()
    expect(card).to_contain_text(re.compile(r"Animating: step [1-9]\d* of 500"), timeout=60_000)
    card.get_by_role("button", name="Cancel").click()
    expect(card.get_by_role("alert")).to_contain_text("cancelled", timeout=60_000)
    expect(card.get_by_role("button", name="Cancel")).to_have_count(0)
    expect(card.locator("video")).to_have_count(1)  # the earlier clip is kept
