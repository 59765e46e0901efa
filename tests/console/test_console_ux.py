"""The console as people use it, in headless Chromium: nothing typed is lost, state is visible,
no dead ends, and every page works on a 390×844 phone and from the keyboard."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.client.support import png, write_pngs
from tests.services.v1_support import CAPTION, SCHEMA

expect = pytest.importorskip("playwright.sync_api", reason="playwright is not installed").expect

pytestmark = [pytest.mark.browser, pytest.mark.slow]
V1 = "/v1/tailored-gen"


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """The console behaves the same on every database: SQLite only."""
    return f"sqlite:///{tmp_path / 'tailor.db'}"


@pytest.fixture
def api(live_server: str, token: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server, headers={"api_token": token}, timeout=60) as c:
        yield c


def _ok(r: httpx.Response) -> Any:
    assert r.status_code < 300, r.text
    return r.json() if r.content else None


def _dataset(api: httpx.Client, n: int, *, schema: bool = False, name: str = "poses") -> dict[str, Any]:
    project = _ok(
        api.post(
            f"{V1}/projects",
            json={"project_name": "Mascot", "ip_medium": "illustration", "ip_type": "stylized_scene"},
        )
    )
    ds = _ok(api.post(f"{V1}/datasets", json={"project_id": project["id"], "name": name}))
    if schema:
        _ok(api.put(f"{V1}/datasets/{ds['id']}", json={"visual_schema": SCHEMA}))
    for i in range(n):
        _ok(api.post(f"{V1}/datasets/{ds['id']}/images", files={"file": (f"{i}.png", png(i), "image/png")}))
    return ds


def _sign_in(page, token: str, path: str = "#/projects") -> None:  # type: ignore[no-untyped-def]
    page.goto("/console#/signin")
    page.evaluate("t => sessionStorage.setItem('tailor.token', t)", token)
    page.goto(f"/console{path}")


def test_a_deep_link_survives_signing_in(page, api: httpx.Client, token: str) -> None:  # type: ignore[no-untyped-def]
    ds = _dataset(api, 1, name="deep link")
    page.goto(f"/console#/datasets/{ds['id']}")
    page.wait_for_url(re.compile(r"#/signin$"))
    field = page.get_by_label("API token")
    expect(field).to_be_focused()
    field.fill(token)
    field.press("Enter")
    page.wait_for_url(re.compile(rf"#/datasets/{ds['id']}$"))
    page.get_by_role("heading", name="deep link").wait_for()


def test_typed_captions_survive_redraws_and_manual_ones_are_not_overwritten_unasked(  # type: ignore[no-untyped-def]
    page, api: httpx.Client, token: str, shot
) -> None:
    ds = _dataset(api, 3, schema=True)
    images = _ok(api.get(f"{V1}/datasets/{ds['id']}/images"))
    first, second = images[0]["id"], images[1]["id"]
    _ok(api.put(f"{V1}/datasets/{ds['id']}/images/{first}", json={"caption": CAPTION}))
    _sign_in(page, token, f"#/datasets/{ds['id']}")
    page.locator(f'.thumb[data-image="{first}"]').click()
    page.locator("#caption-toggle").click()  # raw JSON; the view is remembered from here on
    editor = page.locator("#caption-text")
    editor.fill('{"short_description": "typed by hand, not saved yet"')
    # switching images and coming back keeps the draft
    page.locator(f'.thumb[data-image="{second}"]').click()
    page.locator(f'.thumb[data-image="{first}"]').click()
    expect(page.locator("#caption-text")).to_have_value(re.compile("typed by hand"))
    expect(page.locator("#caption-unsaved")).to_have_text("Unsaved changes.")
    expect(page.locator(f'.thumb[data-image="{first}"]')).to_have_class(re.compile("unsaved"))

    # "Regenerate all" asks first, because one caption was written by hand; declining changes nothing
    asked: list[str] = []

    def decline(dialog) -> None:  # type: ignore[no-untyped-def]
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", decline)
    page.get_by_role("button", name="Regenerate all captions").click()
    page.wait_for_timeout(300)
    assert asked and "1 caption(s) written by hand" in asked[0]
    assert _ok(api.get(f"{V1}/datasets/{ds['id']}/images/{first}"))["caption_source"] == "manual"

    # automatic only: the manual caption stays, and the page's redraws while captions are
    # pending never wipe what is being typed
    page.get_by_role("button", name="Regenerate automatic captions only").click()
    page.get_by_text("manual caption(s) kept").wait_for()
    page.locator("#caption-text").press("End")
    page.keyboard.type(" more")
    page.wait_for_timeout(2500)  # at least one redraw
    expect(page.locator("#caption-text")).to_have_value(re.compile("typed by hand.* more"))
    assert page.evaluate("document.activeElement.id") == "caption-text"
    assert _ok(api.get(f"{V1}/datasets/{ds['id']}/images/{first}"))["caption"] == CAPTION
    shot(page, "ux-dataset-unsaved-caption")


def test_completion_says_what_is_missing_and_clone_is_one_click(  # type: ignore[no-untyped-def]
    page, api: httpx.Client, token: str, shot
) -> None:
    ds = _dataset(api, 5)
    _sign_in(page, token, f"#/datasets/{ds['id']}")
    page.get_by_role("button", name="Mark completed").click()
    alert = page.locator("#flash").get_by_role("alert")
    expect(alert).to_contain_text("visual_schema")
    expect(alert).to_contain_text("have no caption")
    expect(page.locator("#main .badge", has_text="Draft")).to_have_count(1)
    shot(page, "ux-dataset-completion-refused")
    # a completed dataset: "Clone to edit" makes a draft and opens it
    _ok(api.put(f"{V1}/datasets/{ds['id']}", json={"visual_schema": SCHEMA}))
    for img in _ok(api.get(f"{V1}/datasets/{ds['id']}/images")):
        _ok(api.put(f"{V1}/datasets/{ds['id']}/images/{img['id']}", json={"caption": CAPTION}))
    _ok(api.put(f"{V1}/datasets/{ds['id']}", json={"status": "completed"}))
    page.reload()
    page.get_by_role("button", name="Clone to edit").click()
    page.wait_for_url(lambda url: re.search(r"#/datasets/(\d+)$", url) and not url.endswith(f"/{ds['id']}"))
    page.get_by_role("heading", name="Copy of poses").wait_for()
    expect(page.get_by_role("button", name="Mark completed")).to_be_enabled()


def test_the_playground_shows_its_mode_and_recreates_exactly(  # type: ignore[no-untyped-def]
    page, token: str, live_server: str, shot
) -> None:
    _sign_in(page, token, "#/playground")
    mode = page.locator("#pg-mode-text")
    expect(mode).to_contain_text("New image from the prompt")
    page.get_by_label("Prompt", exact=True).fill("a yellow star")
    page.get_by_label("Aspect ratio").select_option("3:4")
    expect(page.locator("#pg-steps-hint")).to_have_text("35 to 50 on the base model.")
    page.get_by_label("Steps").fill("36")
    page.get_by_role("button", name="Generate image").click()
    card = page.locator("#gallery .card").first
    card.locator("img").wait_for(timeout=120_000)
    # the result did not load itself into the form: the next prompt is a new image again
    assert page.locator("#pg-sp").input_value() == "" and page.locator("#pg-seed").input_value() == ""
    expect(mode).to_contain_text("New image from the prompt")
    expect(card).to_contain_text("3:4")
    expect(card).to_contain_text("36 steps")
    first_src = card.locator("img").get_attribute("src")
    card.locator("details.as-code summary").click()
    curl = card.locator("pre.curl").inner_text()
    assert '"aspect_ratio":"3:4"' in curl and '"steps_num":36' in curl and "/v2/image/generate " in curl
    assert 'aspect_ratio="3:4"' in card.locator("pre.python").inner_text()
    # and the copied request makes the same image
    body = json.loads(re.search(r"-d '(.*)'", curl, re.S).group(1))  # type: ignore[union-attr]
    r = httpx.post(f"{live_server}/v2/image/generate", json=body, headers={"api_token": token}, timeout=120)
    assert r.status_code == 200, r.text
    assert httpx.get(r.json()["result"]["image_url"]).content == httpx.get(first_src).content

    # Recreate uses the card's parameters, not what the form says now
    page.get_by_label("Aspect ratio").select_option("1:1")
    page.get_by_label("Steps").fill("")
    card.get_by_role("button", name="Recreate").click()
    expect(page.locator("#gallery .card")).to_have_count(2, timeout=120_000)
    expect(mode).to_contain_text("Recreate: the loaded structured prompt with seed")
    srcs = page.locator("#gallery .card img").evaluate_all("els => els.map(e => e.src)")
    assert httpx.get(srcs[0]).content == httpx.get(first_src).content
    assert page.get_by_label("Aspect ratio").input_value() == "3:4"
    shot(page, "ux-playground-recreate")

    page.get_by_role("button", name="Clear structured prompt and seed").click()
    expect(mode).to_contain_text("New image from the prompt with a random seed")
    assert page.locator("#pg-sp").input_value() == ""


def test_upload_keeps_keyboard_focus_and_has_no_hidden_tab_stop(  # type: ignore[no-untyped-def]
    page, api: httpx.Client, token: str, tmp_path: Path
) -> None:
    ds = _dataset(api, 0)
    _sign_in(page, token, f"#/datasets/{ds['id']}")
    assert page.locator("#upload-files").get_attribute("tabindex") == "-1"
    choose = page.get_by_role("button", name="Choose images…")
    choose.focus()
    page.set_input_files("#upload-files", [str(f) for f in write_pngs(tmp_path / "imgs", 2)])
    page.get_by_text("Uploaded 2 of 2 image(s).").wait_for()
    expect(page.locator(".thumb")).to_have_count(2)
    page.wait_for_function(
        "document.activeElement && document.activeElement.textContent === 'Choose images…'"
    )


def test_the_api_docs_load_without_internet(page) -> None:  # type: ignore[no-untyped-def]
    page.goto("/docs")  # the page fixture fails the test on any request outside Tailor
    page.locator(".swagger-ui .info .title", has_text="Tailor").wait_for(timeout=60_000)
    page.get_by_text("/v2/image/generate/tailored").first.wait_for()


def test_every_page_fits_a_phone(browser, live_server: str, api: httpx.Client, token: str, shot) -> None:  # type: ignore[no-untyped-def]
    ds = _dataset(api, 2, schema=True, name="a dataset with a rather long name for a phone")
    context = browser.new_context(viewport={"width": 390, "height": 844}, base_url=live_server)
    try:
        page = context.new_page()
        _sign_in(page, token)
        pages = {
            "projects": "#/projects",
            "project": f"#/projects/{ds['project_id']}",
            "dataset": f"#/datasets/{ds['id']}",
            "playground": "#/playground",
        }
        for name, path in pages.items():
            page.goto(f"/console{path}")
            page.locator("main h1").wait_for()
            page.wait_for_load_state("networkidle")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"{name} is {width}px wide on a 390px phone"
            header = page.locator("header.topbar").bounding_box()
            assert header is not None and header["x"] >= 0 and header["x"] + header["width"] <= 390
            shot(page, f"ux-phone-{name}")
    finally:
        context.close()
