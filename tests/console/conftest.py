"""Console fixtures: the live app on the tiny model and a headless Debian Chromium driven by Playwright.

Without ``/usr/bin/chromium`` the browser tests skip; enable them with ``apt-get install chromium``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tailor.config import Settings
from tests.client.support import tiny_settings

CHROMIUM = os.environ.get("TAILOR_TEST_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"
BROWSER_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture
def settings(tmp_path: Path, db_url: str, tiny_dir: Path) -> Settings:
    return tiny_settings(tmp_path / "home", db_url, tiny_dir)


# Module scope, not session: while Playwright's sync API is open it keeps an event loop running in
# this thread, which would break every asyncio test that pytest runs after the console tests.
@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.skip(
            f"no Chromium at {CHROMIUM}: install it with `apt-get install chromium` to run console tests"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install playwright; the browser comes from apt)")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser, live_server: str) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """A fresh browser page; it fails the test on any JavaScript error or request to another host."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=live_server)
    pg = context.new_page()
    problems: list[str] = []
    pg.on("pageerror", lambda exc: problems.append(f"JavaScript error: {exc}"))

    def _request(req) -> None:  # type: ignore[no-untyped-def]
        if not (req.url.startswith(live_server) or req.url.startswith(("data:", "blob:"))):
            problems.append(f"request outside Tailor: {req.url}")

    pg.on("request", _request)
    pg.on(
        "console",
        lambda msg: (
            problems.append(f"console: {msg.text}")
            if msg.type == "error" and "Content Security Policy" in msg.text
            else None
        ),
    )
    pg.set_default_timeout(30_000)
    yield pg
    context.close()
    assert problems == []


@pytest.fixture
def shot():  # type: ignore[no-untyped-def]
    """``shot(page, "name")`` saves a full-page screenshot to test-artifacts/console/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def take(pg, name: str) -> Path:  # type: ignore[no-untyped-def]
        path = ARTIFACTS / f"{name}.png"
        pg.screenshot(path=str(path), full_page=True)
        return path

    return take
