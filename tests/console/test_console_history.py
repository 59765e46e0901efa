"""The playground's server-side history and side-by-side comparison, and completing a Stopped model
from its checkpoint on the model page, in headless Chromium (desktop, then a 390 px phone)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tailor.bootstrap import Runtime
from tests.engine.api_helpers import adapter_bytes, add_checkpoints, add_model

expect = pytest.importorskip("playwright.sync_api", reason="playwright is not installed").expect

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """The console behaves the same on every database: SQLite only."""
    return f"sqlite:///{tmp_path / 'tailor.db'}"


def test_history_compare_and_a_stopped_models_checkpoints(  # type: ignore[no-untyped-def]
    page, runtime: Runtime, token: str, tiny_dir: Path, shot
) -> None:
    first, second = adapter_bytes(tiny_dir, 1), adapter_bytes(tiny_dir, 2)
    stopped = add_model(runtime, token, None, status="Stopped")
    add_checkpoints(runtime, stopped, {100: first, 200: second})
    page.goto("/console#/signin")
    page.evaluate("t => sessionStorage.setItem('tailor.token', t)", token)

    # a Stopped model's page offers its checkpoints: complete it from the latest one
    page.goto(f"/console#/models/{stopped}")
    expect(page.locator("#stopped-note")).to_contain_text("its checkpoints are kept")
    expect(page.get_by_role("button", name="Download weights")).to_be_enabled()
    page.locator("#ck-title ~ .scroll-x table button", has_text="Download").first.click()
    expect(page.get_by_role("link", name="Checkpoint 200 weights")).to_be_visible()
    shot(page, "model-stopped-checkpoints")
    page.get_by_role("button", name="Complete from the latest checkpoint (200)").click()
    expect(page.locator("#model-status")).to_have_text("Completed")
    expect(page.get_by_role("link", name="Open in playground")).to_be_visible()

    # the playground: one image, then the served version and two checkpoints side by side
    page.get_by_role("link", name="Open in playground").click()
    expect(page.locator("#hist-note")).to_contain_text("Nothing generated")
    page.get_by_label("Prompt", exact=True).fill("a red circle")
    page.locator("#pg-seed").fill("5")
    page.get_by_role("button", name="Generate image").click()
    expect(page.locator("#history .card")).to_have_count(1, timeout=120_000)
    targets = page.locator("#cmp-targets input")
    expect(targets).to_have_count(3)
    page.get_by_role("button", name="Compare side by side").click()
    expect(page.locator("#compare-panel .error")).to_contain_text("Choose 2 to 4 targets")
    for i in range(3):
        targets.nth(i).check()
    page.get_by_role("button", name="Compare side by side").click()
    tiles = page.locator("#compare .card")
    expect(tiles).to_have_count(3, timeout=120_000)
    labels = tiles.locator("figcaption").all_inner_texts()
    # targets: the served version (checkpoint 200), then the checkpoints, latest first
    assert "checkpoint 200" in labels[0] and "checkpoint 200" in labels[1] and "checkpoint 100" in labels[2]
    assert all("influence 1.00 · seed 5" in text for text in labels)
    srcs = tiles.locator("img").evaluate_all("els => els.map(e => e.src)")
    images = [httpx.get(s).content for s in srcs]
    assert images[0] == images[1] != images[2]
    expect(page.locator("#history .card")).to_have_count(4)

    # Recreate from the server's history: the checkpoint 100 image, made again with checkpoint 100
    entry = page.locator("#history .card", has_text="checkpoint 100").first
    entry.get_by_role("button", name="Recreate").click()
    expect(page.locator("#gallery .card")).to_have_count(2, timeout=120_000)
    assert page.locator("#pg-checkpoint").input_value() == "100"
    newest = page.locator("#gallery .card img").first.get_attribute("src")
    assert httpx.get(newest or "").content == images[2]
    expect(page.locator("#history .card")).to_have_count(5)
    shot(page, "playground-history-compare")

    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_load_state("networkidle")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the playground is {width}px wide on a 390px phone"
    shot(page, "playground-history-compare-phone")
    page.goto(f"/console#/models/{stopped}")
    page.locator("#ck-title").wait_for()
    page.wait_for_load_state("networkidle")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the model page is {width}px wide on a 390px phone"
