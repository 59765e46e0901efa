"""The training part of the model page in headless Chromium, desktop and a 390x844 phone: the
estimate before "Start training" (following the form, with the API's errors), elapsed time, the
learning-rate chart with the current step marked, hover and keyboard values on the charts, and
the large labelled samples with their lightbox.

The models are rows as a training run leaves them (tests/engine/training/test_training_job.py
checks that a real run records these fields, the schedule from the trainer's own scheduler)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tailor.bootstrap import Runtime
from tailor.config import Settings
from tailor.engine.training.schedule import lr_curve
from tailor.store import checkpoints as ckpt_store
from tailor.store.db import session_scope
from tailor.store.models import add_model
from tailor.store.tables import Dataset
from tests.client.support import tiny_settings
from tests.engine.training.helpers import caption, seed_dataset
from tests.services.readiness_images import encode, textured

expect = pytest.importorskip("playwright.sync_api", reason="playwright is not installed").expect

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def settings(tmp_path: Path, tiny_dir: Path) -> Settings:
    # SQLite only (the database does not matter here); no run trains, so the runs are not capped
    return tiny_settings(
        tmp_path / "home", f"sqlite:///{tmp_path / 'tailor.db'}", tiny_dir,
        training_max_steps=None, training_checkpoint_interval=None,
    )  # fmt: skip


def _model(rt: Runtime, dataset_id: int, status: str, progress: dict[str, Any] | None, **kw: Any) -> int:
    with session_scope(rt.sessions) as s:
        ds = s.get(Dataset, dataset_id)
        assert ds is not None
        m = add_model(
            s, organization_id=ds.organization_id, project_id=ds.project_id, dataset_id=ds.id,
            name=f"{status} model", status=status, training_version="fibo", training_progress=progress, **kw,
        )  # fmt: skip
        return int(m.id)


def _run_progress(rt: Runtime, step: int, total: int = 8) -> dict[str, Any]:
    losses = [[s, round(0.9 - 0.07 * s, 4)] for s in range(1, step + 1)]
    done = step == total
    run = {
        "family": "fibo", "weights": rt.settings.base_model, "device": "cpu", "rank": 8,
        "grad_accumulation": rt.settings.training_grad_accumulation, "seconds_per_step": 0.5,
        "setup_seconds": 20.0, "checkpoint_seconds": 2.0,
        "adapter_bytes": 40_000, "state_bytes": 120_000, "sample_bytes": 30_000,
    }  # fmt: skip
    return {
        "step": step, "total_steps": total, "loss": losses[-1][1], "eta_seconds": 0.0 if done else 12.0,
        "sample_keys": [], "loss_history": losses, "learning_rate": 5e-5,
        "elapsed_seconds": 65.0 if done else 30.0, "seconds_per_step": 0.5,
        "started_at": "2026-12-01T10:00:00+00:00", "lr_schedule": lr_curve("cosine", 1e-4, 2, total),
        "sample_prompt": caption(1), "sample_seed": 1234, "run": run,
    }  # fmt: skip


def _seed(rt: Runtime, token: str) -> tuple[int, int, int]:
    """A Created expert model, a Completed one with two sampled checkpoints, one still training (the
    two runs are what the estimate measures)."""
    dataset_id = seed_dataset(rt, token).dataset_id
    params = {"rank": 8, "total_training_steps": 8, "lr_scheduler": "cosine"}
    done = _model(
        rt, dataset_id, "Completed", _run_progress(rt, 8), active_model_version=8, training_parameters=params
    )
    with session_scope(rt.sessions) as s:
        for step in (4, 8):
            key = f"models/x/{done}/sample{step}.png"
            rt.blobs.put(key, encode(textured(step, (256, 256))), "image/png")
            ckpt_store.save_checkpoint(s, done, step, adapter_key=f"models/x/{done}/a{step}", sample_key=key,
                                       loss=0.9 - 0.07 * step)  # fmt: skip
    created = _model(rt, dataset_id, "Created", None, training_mode="expert")
    running = _model(rt, dataset_id, "InProgress", _run_progress(rt, 4))
    return created, done, running


def _sign_in(page, token: str) -> None:  # type: ignore[no-untyped-def]
    page.add_init_script(f"sessionStorage.setItem('tailor.token', {token!r})")


def test_estimate_charts_and_samples(page, shot, token: str, runtime: Runtime) -> None:  # type: ignore[no-untyped-def]
    created, done, running = _seed(runtime, token)
    _sign_in(page, token)

    # --- before "Start training": the estimate for the form's values, from the run measured above
    page.goto(f"/console#/models/{created}")
    text, basis = page.locator("#estimate-text"), page.locator("#estimate-basis")
    expect(text).to_contain_text("Estimated duration: about")
    expect(text).to_contain_text("750 steps · 2 checkpoints")  # the form's defaults: 750 steps, every 500
    expect(basis).to_have_attribute("data-source", "measured")
    expect(basis).to_contain_text(
        "median of the 2 latest runs on this installation (cpu, rank 8, sizes scaled to rank 128"
    )
    page.get_by_label("LoRA rank").fill("2")  # below the contract's range: the API's rule, naming the field
    expect(page.locator("#estimate [role=alert]")).to_contain_text("rank must be between 4 and 256")
    page.get_by_label("LoRA rank").fill("8")
    page.get_by_label("Total training steps").fill("100")
    page.get_by_label("Checkpoint interval").fill("100")
    expect(text).to_contain_text("100 steps · 1 checkpoint")
    expect(basis).to_contain_text(
        "median of the 2 latest runs on this installation (cpu, rank 8, 1 image per step)"
    )
    shot(page, "training-01-estimate")

    # --- a finished run: the time it took, the loss and learning-rate charts, read by pointer and keys
    page.goto(f"/console#/models/{done}")
    expect(page.locator("#elapsed-text")).to_contain_text("Took 1m 05s")
    loss = page.locator("#prog svg.chart[data-name=loss]")
    lr = page.locator("#prog svg.chart[data-name='learning rate']")
    expect(lr.locator(".marker-label")).to_have_text("now: step 8")
    box = loss.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)  # about step 4
    expect(loss.locator(".tip-text")).to_have_text("Step 4: loss 0.6200")
    expect(page.locator("#prog .chart-readout").first).to_have_text("Step 4: loss 0.6200")
    lr.focus()
    page.keyboard.press("Home")
    expect(lr).to_have_attribute("aria-valuetext", "Step 1: learning rate 0")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    expect(lr).to_have_attribute("aria-valuetext", "Step 3: learning rate 1.00e-4")  # the end of the warm-up
    expect(page.locator("#prog table.visually-hidden").last.locator("tbody tr")).to_have_count(8)
    shot(page, "training-02-charts")

    # --- samples: large, labelled, enlarged in a lightbox that Escape closes
    cards = page.locator("#samples .sample-card")
    expect(cards).to_have_count(2)
    expect(cards.first).to_contain_text("Step 4 · seed 1234")
    expect(cards.first).to_contain_text(f"Prompt: {json.loads(caption(1))['short_description']}")
    assert (cards.first.locator("img").bounding_box() or {"width": 0})["width"] >= 250
    opener = cards.nth(1).get_by_role("button", name="Enlarge the sample at step 8")
    opener.click()
    dialog = page.locator("dialog#lightbox")
    expect(dialog).to_be_visible()
    expect(dialog.locator("figcaption")).to_contain_text("Step 8 · seed 1234")
    shot(page, "training-03-lightbox")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(opener).to_be_focused()

    # --- a run in progress: the elapsed time and the current step on the schedule
    page.goto(f"/console#/models/{running}")
    expect(page.locator("#elapsed-text")).to_contain_text("Elapsed 30s")
    expect(page.locator("#prog svg.chart[data-name='learning rate'] .marker-label")).to_have_text(
        "now: step 4"
    )

    # --- a phone: everything fits 390 px, samples stay readable, the lightbox works by touch and keys
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/console#/models/{done}")
    expect(page.locator("#samples .sample-card")).to_have_count(2)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "training-04-phone")
    page.locator("#samples .sample-open").first.click()
    expect(page.locator("dialog#lightbox")).to_be_visible()
    shot(page, "training-05-phone-lightbox")
    page.get_by_role("button", name="Close").click()
    expect(page.locator("dialog#lightbox")).to_be_hidden()
    page.goto(f"/console#/models/{created}")
    expect(page.locator("#estimate-text")).to_contain_text("Estimated duration")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "training-06-phone-estimate")
