"""The console in headless Chromium: the readiness panel and flags before "Mark completed", and the
checkpoint comparison (validation grids, scores, loss curve) with "serve this one"."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from tailor.bootstrap import Runtime
from tailor.config import Settings
from tailor.store import checkpoints as ckpt_store
from tailor.store import evaluations as eval_store
from tailor.store.db import session_scope
from tailor.store.tables import TailoredModel
from tests.client.support import tiny_settings
from tests.services.readiness_images import encode, textured
from tests.services.v1_support import SCHEMA, add_model

expect = pytest.importorskip("playwright.sync_api", reason="playwright is not installed").expect

pytestmark = [pytest.mark.browser, pytest.mark.slow]
V1 = "/v1/tailored-gen"


@pytest.fixture
def settings(tmp_path: Path, tiny_dir: Path) -> Settings:
    # SQLite only: the database does not matter here
    return tiny_settings(
        tmp_path / "home",
        f"sqlite:///{tmp_path / 'tailor.db'}",
        tiny_dir,
        min_image_side=128,
        min_upscale_side=64,
    )


def _seed(live_server: str, token: str) -> tuple[int, list[int]]:
    """A dataset of six images: an exact copy among them, and one strip the training crop would halve."""
    with httpx.Client(base_url=live_server, headers={"api_token": token}, timeout=60) as c:
        p = c.post(
            f"{V1}/projects", json={"project_name": "Ready", "ip_medium": "photography", "ip_type": "other"}
        )
        d = c.post(f"{V1}/datasets", json={"project_id": p.json()["id"], "name": "set"}).json()["id"]
        r = c.put(f"{V1}/datasets/{d}", json={"visual_schema": SCHEMA})  # captions come with the uploads
        assert r.status_code == 200, r.text
        datas = [encode(textured(s)) for s in range(4)]
        datas += [datas[0], encode(textured(9, (640, 128)))]
        ids = []
        for n, data in enumerate(datas):
            r = c.post(f"{V1}/datasets/{d}/images", files={"file": (f"{n}.png", data, "image/png")})
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])
        deadline = time.monotonic() + 120
        while c.get(f"{V1}/datasets/{d}").json()["captions_update_status"] == "in_progress" or any(
            i["caption_source"] == "pending" for i in c.get(f"{V1}/datasets/{d}/images").json()
        ):
            assert time.monotonic() < deadline
            time.sleep(0.3)
        return d, ids


def _sign_in(page, token: str) -> None:  # type: ignore[no-untyped-def]
    """Signed in as the console keeps it (the sign-in form itself is tested in test_console_flow)."""
    page.add_init_script(f"sessionStorage.setItem('tailor.token', {token!r})")


def _scored_model(rt: Runtime, dataset_id: int) -> int:
    """A Completed model with two checkpoints and their evaluations, as a training run records them
    (tests/engine/training/test_evaluation.py trains and scores for real)."""
    scores = {
        None: {"dino": 0.2, "clip_i": 0.3, "clip_t": 0.3, "memorisation": 0.5},
        1: {"dino": 0.5, "clip_i": 0.5, "clip_t": 0.3, "memorisation": 0.8},
        2: {"dino": 0.6, "clip_i": 0.6, "clip_t": 0.3, "memorisation": 0.8},
    }
    mid = add_model(rt, {"id": dataset_id}, "Completed")
    with session_scope(rt.sessions) as s:
        model = s.get(TailoredModel, mid)
        assert model is not None
        model.active_model_version = 2
        model.training_progress = {"step": 2, "total_steps": 2, "loss_history": [[1, 0.5], [2, 0.4]]}
        for step, values in scores.items():
            grid = f"{model.blob_prefix}evaluations/{step or 'base'}.png"
            rt.blobs.put(grid, encode(textured(step or 0, (128, 128))), "image/png")
            if step is not None:
                ckpt_store.save_checkpoint(
                    s, mid, step, adapter_key=f"{model.blob_prefix}a{step}", loss=0.5 / step
                )
            eval_store.save_evaluation(
                s, dataset_id=dataset_id, model_id=mid, checkpoint_step=step, scorer="clip=x,dino=y",
                scores=values, grid_keys=[grid],
            )  # fmt: skip
    return mid


def test_readiness_panel_and_checkpoint_comparison(
    page, shot, token: str, live_server: str, runtime: Runtime
) -> None:  # type: ignore[no-untyped-def]
    dataset_id, ids = _seed(live_server, token)
    _sign_in(page, token)
    # --- the readiness panel and the flags on the thumbnails, before "Mark completed"
    page.goto(f"/console#/datasets/{dataset_id}")
    panel = page.locator("#readiness")
    expect(panel.locator("#verdict")).to_have_text("not ready")
    expect(panel.locator("li.problem.blocking[data-code=cropped_in_half]")).to_have_count(1)
    expect(panel.locator("li.problem.warning[data-code=exact_duplicate]")).to_have_count(1)
    expect(page.locator(".thumb .flags[data-flags~=exact_duplicate]")).to_have_count(2)
    expect(page.locator(".thumb .flags[data-flags~=cropped_in_half]")).to_have_count(1)
    shot(page, "eval-01-readiness")
    page.get_by_role("button", name="Mark completed").click()
    expect(page.locator("#flash").get_by_role("alert")).to_contain_text("blocking problems")
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="Complete anyway").click()
    page.get_by_text("Dataset completed despite").wait_for()

    # --- a model with scored checkpoints: the comparison view, then serve one, then the suggested one
    mid = _scored_model(runtime, dataset_id)
    page.goto(f"/console#/models/{mid}")
    panel = page.locator("#evaluation")
    expect(panel.locator(".card")).to_have_count(3)  # the base model and checkpoints 1 and 2
    expect(panel.locator(".card.best")).to_have_attribute("data-step", "2")
    expect(panel.locator(".card[data-step=base] img")).to_have_count(1)
    expect(panel.locator(".card[data-step='1'] table")).to_contain_text("CLIP-T")
    expect(panel.locator("svg.chart")).to_have_count(1)
    shot(page, "eval-02-comparison")
    panel.locator(".card[data-step='1']").get_by_role("button", name="Serve this one").click()
    page.get_by_text("Checkpoint 1 is now served.").wait_for()
    expect(
        page.locator("#evaluation .card[data-step='1']").get_by_role("button", name="Served")
    ).to_be_disabled()
    page.get_by_role("button", name="Serve the suggested checkpoint").click()
    page.get_by_text("Checkpoint 2 is now served.").wait_for()
