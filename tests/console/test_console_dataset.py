"""The dataset page for a large dataset, in headless Chromium (desktop and 390×844): pages and
filters, the caption table, the image view with its metadata and caption diff, the caption as a
labelled form with the raw JSON one click away, and multi-select delete."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from tailor.bootstrap import Runtime
from tailor.store import images as image_store
from tailor.store.db import session_scope
from tailor.store.tables import Image
from tests.client.support import png
from tests.services.v1_support import CAPTION, SCHEMA

expect = pytest.importorskip("playwright.sync_api", reason="playwright is not installed").expect

pytestmark = [pytest.mark.browser, pytest.mark.slow]
V1 = "/v1/tailored-gen"


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'tailor.db'}"


def _ok(r: httpx.Response) -> Any:
    assert r.status_code < 300, r.text
    return r.json() if r.content else None


def _caption(text: str) -> str:
    return json.dumps(json.loads(CAPTION) | {"short_description": text})


def _seed(api: httpx.Client, runtime: Runtime) -> tuple[dict[str, Any], list[int]]:
    """A dataset of 3 uploaded images and 57 more rows sharing their files (as clones do): 60."""
    project = _ok(
        api.post(
            f"{V1}/projects",
            json={"project_name": "Zoo", "ip_medium": "illustration", "ip_type": "stylized_scene"},
        )
    )
    ds = _ok(
        api.post(
            f"{V1}/datasets", json={"project_id": project["id"], "name": "animals", "upload_type": "basic"}
        )
    )
    ups = [
        _ok(api.post(f"{V1}/datasets/{ds['id']}/images", files={"file": (f"u{i}.png", png(i), "image/png")}))
        for i in range(3)
    ]
    with session_scope(runtime.sessions) as s:
        for i in range(57):
            src = s.get(Image, ups[i % 3]["id"])
            assert src is not None
            image_store.add_image(
                s,
                src.organization_id,
                src.dataset_id,
                image_name=f"row{i:02d}.png",
                blob_key=src.blob_key,
                thumbnail_key=src.thumbnail_key,
                width=src.width,
                height=src.height,
                sha256=f"{i:064x}",
                upload_source="upload",
                caption=_caption(f"animal number {i}"),
                caption_source="manual" if i % 4 == 0 else "automatic",
            )
    _ok(api.put(f"{V1}/datasets/{ds['id']}", json={"visual_schema": SCHEMA}))
    first = ups[0]["id"]
    _ok(api.put(f"{V1}/datasets/{ds['id']}/images/{first}", json={"caption": _caption("a cat")}))
    _ok(api.put(f"{V1}/datasets/{ds['id']}/images/{first}", json={"caption": _caption("a zebra")}))
    ids = [i["id"] for i in _ok(api.get(f"{V1}/datasets/{ds['id']}/images"))]
    return ds, ids


def _sign_in(page, token: str, path: str) -> None:  # type: ignore[no-untyped-def]
    page.goto("/console#/signin")
    page.evaluate("t => sessionStorage.setItem('tailor.token', t)", token)
    page.goto(f"/console{path}")


def test_browse_edit_and_delete_in_a_large_dataset(  # type: ignore[no-untyped-def]
    page, browser, live_server: str, token: str, runtime: Runtime, shot
) -> None:
    with httpx.Client(base_url=live_server, headers={"api_token": token}, timeout=60) as api:
        ds, ids = _seed(api, runtime)
        base = f"{V1}/datasets/{ds['id']}/images"
        _sign_in(page, token, f"#/datasets/{ds['id']}")

        # --- pages of 48, then filters (the API filters and counts)
        expect(page.locator("#page-info")).to_have_text(re.compile(r"Page 1 of 2 · 1–48 of 60"))
        expect(page.locator(".thumb")).to_have_count(48)
        page.locator("#page-next").click()
        expect(page.locator("#page-info")).to_have_text(re.compile(r"Page 2 of 2 · 49–60 of 60"))
        page.get_by_label("Caption", exact=True).select_option("manual")
        expect(page.locator("#page-info")).to_have_text(re.compile(r"Page 1 of 1 · 1–16 of 16"))
        page.get_by_label("Caption", exact=True).select_option("")
        page.get_by_label("Search captions and names").fill("ZEBRA")
        expect(page.locator("#page-info")).to_have_text(re.compile(r"of 1$"))
        expect(page.get_by_label("Search captions and names")).to_be_focused()  # kept through the redraw

        # --- the caption table, then the image view: large image, metadata, the diff
        page.get_by_role("button", name="Caption table").click()
        expect(page.locator("#caption-table tbody tr")).to_have_count(1)
        expect(page.locator("#caption-table")).to_contain_text("a zebra")
        page.locator(f'#caption-table .rowthumb[data-image="{ids[0]}"]').click()
        view = page.locator("#caption-editor")
        expect(view.locator("#image-large")).to_be_visible()
        expect(view.locator("#image-meta")).to_contain_text("1024×1024")
        expect(view.locator("#image-meta")).to_contain_text("Yes, from 256×256")
        expect(view.locator("#image-meta")).to_contain_text("Uploaded file")
        diff = view.locator("#caption-diff tr[data-field=short_description]")
        expect(diff.locator("td.before")).to_have_text("a cat")
        expect(diff.locator("td.after")).to_have_text("a zebra")

        # --- the caption as a labelled form; raw JSON one click away; edits survive switching
        page.get_by_label("Short description").fill("a zebra on a bike")
        view.get_by_label("Field to add").select_option("objects")
        view.get_by_role("button", name="Add object").click()
        page.get_by_label("Description", exact=True).first.fill("the bike")
        view.get_by_role("button", name="Raw JSON").click()
        raw = page.locator("#caption-text")
        assert json.loads(raw.input_value())["objects"][0]["description"] == "the bike"
        raw.fill(raw.input_value().replace("a zebra on a bike", "a zebra on a red bike"))
        view.get_by_role("button", name="Form").click()
        expect(page.get_by_label("Short description")).to_have_value("a zebra on a red bike")
        # invalid JSON: the form cannot be shown, the typed text stays; a wrong type is not saved
        view.get_by_role("button", name="Raw JSON").click()
        raw.fill('{"short_description": "broken"')
        view.get_by_role("button", name="Form").click()
        expect(view.locator("#caption-problem")).to_contain_text("not valid JSON")
        expect(raw).to_have_value('{"short_description": "broken"')
        raw.fill(json.dumps(json.loads(CAPTION) | {"objects": "a bike"}))
        view.get_by_role("button", name="Save caption").click()
        expect(view.locator("#caption-problem")).to_contain_text("objects must be a list")
        assert json.loads(_ok(api.get(f"{base}/{ids[0]}"))["caption"])["short_description"] == "a zebra"
        raw.fill(json.dumps(json.loads(CAPTION) | {"short_description": "a zebra on a red bike"}))
        view.get_by_role("button", name="Form").click()
        view.get_by_role("button", name="Save caption").click()
        page.get_by_text("Caption saved.").wait_for()
        saved = _ok(api.get(f"{base}/{ids[0]}"))
        assert json.loads(saved["caption"])["short_description"] == "a zebra on a red bike"
        assert json.loads(saved["previous_caption"])["short_description"] == "a zebra"
        expect(view.locator("#caption-diff tr[data-field=short_description] td.after")).to_have_text(
            "a zebra on a red bike"
        )
        # refine by instruction: the answer waits in the editor, unsaved, with what it changes
        page.get_by_label("Refine this caption by instruction").fill("the background is a beach")
        view.get_by_role("button", name="Refine").click()
        expect(view.locator("#caption-unsaved")).to_contain_text("Refined, not saved yet")
        expect(view.locator("#caption-draft-diff")).to_be_visible()
        shot(page, "dataset-image-view")

        # --- multi-select: a click, a shift-click range, then one delete after the confirm
        page.get_by_label("Search captions and names").fill("")
        page.get_by_role("button", name="Grid").click()
        expect(page.locator("#page-info")).to_have_text(re.compile(r"of 60$"))
        boxes = page.locator(".cell .pick")
        boxes.nth(2).click()
        boxes.nth(5).click(modifiers=["Shift"])
        expect(page.locator("#selected-count")).to_have_text("4 selected")
        asked: list[str] = []
        page.once("dialog", lambda d: (asked.append(d.message), d.accept()))
        page.get_by_role("button", name="Delete selected").click()
        page.get_by_text("Deleted 4 image(s).").wait_for()
        assert "Delete 4 image(s)" in asked[0]
        left = [i["id"] for i in _ok(api.get(base))]
        assert left == ids[:2] + ids[6:]
        expect(page.locator("#page-info")).to_have_text(re.compile(r"of 56$"))
        page.get_by_label("Select all on this page").check()
        expect(page.locator("#selected-count")).to_have_text("48 selected")
        shot(page, "dataset-browse-desktop")

    # --- a 390×844 phone: nothing wider than the screen, the form and the table usable
    context = browser.new_context(viewport={"width": 390, "height": 844}, base_url=live_server)
    try:
        phone = context.new_page()
        _sign_in(phone, token, f"#/datasets/{ds['id']}")
        phone.locator(f'.thumb[data-image="{ids[0]}"]').click()
        expect(phone.get_by_label("Short description")).to_have_value("a zebra on a red bike")
        phone.wait_for_load_state("networkidle")
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the dataset page is {width}px wide on a 390px phone"
        shot(phone, "dataset-phone")
    finally:
        context.close()
