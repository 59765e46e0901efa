"""The console end to end in headless Chromium: sign in, project, dataset (drop + upload, schema,
captions), model training on the tiny model, and the playground up to a generated image."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import httpx
import pytest

from tests.client.support import needs, png, write_pngs

expect = pytest.importorskip("playwright.sync_api", reason="playwright is not installed").expect

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Every form control has a label, every clickable thing is a real button or link.
A11Y_CHECK = """() => {
  const bad = [];
  for (const el of document.querySelectorAll('main input, main select, main textarea')) {
    if (el.type === 'hidden') continue;
    const labelled = (el.labels && el.labels.length) || el.getAttribute('aria-label');
    if (!labelled) bad.push(el.outerHTML.slice(0, 80));
  }
  const fake = document.querySelectorAll('[onclick], div[role=button], span[role=button]');
  for (const el of fake) bad.push(el.outerHTML.slice(0, 80));
  return bad;
}"""


def _a11y(page) -> None:  # type: ignore[no-untyped-def]
    assert page.evaluate(A11Y_CHECK) == []


def _drop_file(page, selector: str, name: str, data: bytes) -> None:  # type: ignore[no-untyped-def]
    """Drop a file on an element the way a user drags one from their desktop."""
    page.evaluate(
        """([sel, name, b64]) => {
          const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
          const dt = new DataTransfer();
          dt.items.add(new File([bytes], name, { type: 'image/png' }));
          const drop = new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true });
          document.querySelector(sel).dispatchEvent(drop);
        }""",
        [selector, name, base64.b64encode(data).decode()],
    )


def test_console_assets_are_served_locally(live_server: str) -> None:
    r = httpx.get(f"{live_server}/console")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert not re.search(r"""(src|href)=["']https?://""", r.text)
    js = httpx.get(f"{live_server}/console/static/app.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert httpx.get(f"{live_server}/console/static/../../config.py").status_code == 404


def test_sign_in_refuses_a_wrong_token(page, shot) -> None:  # type: ignore[no-untyped-def]
    page.goto("/console")
    page.wait_for_url(re.compile(r"#/signin$"))
    page.get_by_label("API token").fill("wrong-token")
    page.get_by_role("button", name="Sign in").click()
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "api_token" in alert.inner_text() or "token" in alert.inner_text().lower()
    _a11y(page)
    shot(page, "01-signin-error")


@needs("POST", "/v1/tailored-gen/models/{model_id}/start_training")
@needs("POST", "/v2/image/generate/tailored")
def test_whole_flow_from_sign_in_to_a_generated_image(page, shot, token: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # --- sign in (keyboard only)
    page.goto("/console")
    page.wait_for_url(re.compile(r"#/signin$"))
    shot(page, "01-signin")
    page.keyboard.type(token)  # the token field has focus
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"#/projects$"))
    page.get_by_role("heading", name="Projects").wait_for()
    shot(page, "01b-projects-empty")

    # --- create a project
    page.get_by_label("Name", exact=True).fill("Shapes")
    page.get_by_label("IP type").select_option("stylized_scene")
    page.get_by_role("button", name="Create project").click()
    page.wait_for_url(re.compile(r"#/projects/\d+$"))
    page.get_by_role("heading", name="Shapes").wait_for()
    _a11y(page)
    shot(page, "01c-project")
    project_url = page.url

    # --- create a dataset and upload images: one dropped, four through the file picker
    page.locator("#new-dataset").locator("..").get_by_label("Name", exact=True).fill("shapes set")
    page.get_by_role("button", name="Create dataset").click()
    page.wait_for_url(re.compile(r"#/datasets/\d+$"))
    page.locator("#dropzone").wait_for()
    _drop_file(page, "#dropzone", "dropped.png", png(100))
    page.get_by_text("Uploaded 1 of 1 image(s).").wait_for()
    page.get_by_role("button", name="Mark completed").click()  # too few images: the API says why
    expect(page.locator("#flash").get_by_role("alert")).to_contain_text("5")
    files = write_pngs(tmp_path / "imgs", 4)
    page.set_input_files("#upload-files", [str(f) for f in files])
    page.get_by_text("Uploaded 4 of 4 image(s).").wait_for()
    expect(page.locator(".thumb")).to_have_count(5)
    _a11y(page)
    shot(page, "02-dataset-uploaded")

    # --- visual schema: generate from the dataset's images, refine, save
    page.get_by_role("button", name="Generate schema").click()
    expect(page.locator("#schema-text")).to_have_value(re.compile(r"^\s*\{"), timeout=60_000)
    page.get_by_label("Refine by instruction").fill("the palette is pastel")
    page.get_by_role("button", name="Refine").click()
    page.get_by_text("Schema refined").wait_for()
    page.get_by_role("button", name="Save schema").click()
    page.get_by_text("Visual schema saved.").wait_for()

    # --- captions: regenerate all, then open one and try an invalid edit
    page.get_by_role("button", name="Regenerate all captions").click()
    expect(page.locator(".thumb .tag", has_text="automatic")).to_have_count(5, timeout=120_000)
    page.locator(".thumb").first.click()
    page.locator("#caption-editor").get_by_role("button", name="Raw JSON").click()
    editor = page.locator("#caption-text")
    assert editor.input_value().strip().startswith("{")
    editor.fill("{ not json")
    page.get_by_role("button", name="Save caption").click()
    err = page.locator("#caption-editor").get_by_role("alert")
    err.wait_for()
    assert "caption" in err.inner_text()
    shot(page, "03-dataset-caption-error")

    # --- complete the dataset
    page.get_by_role("button", name="Mark completed").click()
    page.get_by_text("Dataset completed").wait_for()
    shot(page, "04-dataset-completed")

    # --- a model in expert mode, trained from the form with the contract's ranges
    page.goto(project_url)
    form = page.locator("#new-model").locator("..")
    form.get_by_label("Name", exact=True).fill("shapes v1")
    form.get_by_label("Training mode").select_option("expert")
    page.get_by_role("button", name="Create model").click()
    page.wait_for_url(re.compile(r"#/models/\d+$"))
    rank = page.get_by_label("LoRA rank")
    assert rank.get_attribute("min") == "4" and rank.get_attribute("max") == "256"
    assert page.get_by_label("Total training steps").get_attribute("max") == "5000"
    _a11y(page)
    shot(page, "05-model-created")
    rank.fill("4")
    page.get_by_label("Total training steps").fill("2")
    page.get_by_label("Checkpoint interval").fill("100")
    page.get_by_role("button", name="Start training").click()
    page.get_by_text("Training progress").wait_for()
    page.locator("#model-status .badge.Completed").wait_for(timeout=300_000)
    page.get_by_role("link", name="Open in playground").wait_for()
    shot(page, "06-model-completed")
    use = page.get_by_role("button", name="Use this version")
    if use.count():
        use.first.click()
        page.get_by_text(re.compile(r"Checkpoint \d+ is now served")).wait_for()
    page.get_by_role("button", name="Download weights").click()
    page.get_by_role("link", name="Download the adapter").wait_for()

    # --- the playground: generate, then recreate the same image
    page.get_by_role("link", name="Open in playground").click()
    page.wait_for_url(re.compile(r"#/playground\?model=\d+$"))
    page.get_by_label("Prompt", exact=True).fill("a circle on a plain background")
    page.get_by_label("Seed", exact=True).first.fill("5")
    page.get_by_role("button", name="Generate image").click()
    page.locator("#gallery .card img").first.wait_for(timeout=300_000)
    expect(page.locator("#gallery .card img").first).to_have_js_property("complete", True)
    first_src = page.locator("#gallery .card img").first.get_attribute("src")
    _a11y(page)
    shot(page, "07-playground-result")
    page.locator("#gallery .card").first.get_by_role("button", name="Recreate").click()
    expect(page.locator("#gallery .card")).to_have_count(2, timeout=300_000)
    srcs = page.locator("#gallery .card img").evaluate_all("els => els.map(e => e.src)")
    assert len(srcs) == 2 and first_src in srcs
    a, b = (httpx.get(s).content for s in srcs)
    assert a == b  # same structured prompt + seed: the same image
    shot(page, "08-playground-recreate")
