"""Scored checkpoints on the tiny model with the tiny random CLIP and DINOv2 (``TAILOR_EVAL_MODELS=tiny``):
the validation grid is rendered at the stated seeds, scores are reproducible (the stored grid scored
again by freshly loaded models gives the recorded scores), the base reference is computed once per
dataset, "best" follows the written rule, and a scoring error never fails training."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import pytest
import torch
from PIL import Image

from tailor.bootstrap import Runtime
from tailor.config import Settings
from tailor.domain.evaluation import VALIDATION_SEEDS, best_checkpoint, validation_set
from tailor.engine.evaluation import REFERENCE_SIDE
from tailor.engine.scoring import Scorer, parse_eval_models, reference, score
from tailor.store import evaluations as eval_store
from tailor.store.db import session_scope
from tailor.store.tables import Evaluation
from tailor.store.tables import Image as ImageRow
from tailor.worker.run import run_pending
from tests.conftest import make_settings
from tests.engine.training.helpers import SCHEMA, caption, seed_dataset
from tests.engine.training.test_training_job import BASE, fetch, start_model

pytestmark = pytest.mark.slow


def _settings(tmp_path: Path, tiny_dir: Path, eval_models: str) -> Settings:
    return make_settings(
        tmp_path / "home",
        f"sqlite:///{tmp_path / 'tailor.db'}",
        base_model=str(tiny_dir),
        device="cpu",
        training_max_steps=2,
        training_checkpoint_interval=1,
        training_grad_accumulation=1,
        training_gradient_checkpointing=False,
        training_sample_steps=2,
        job_retry_backoff_s=0.0,
        eval_models=eval_models,
        eval_prompts=1,
    )


@pytest.fixture
def settings(tmp_path: Path, tiny_dir: Path, request: pytest.FixtureRequest) -> Settings:
    return _settings(tmp_path, tiny_dir, getattr(request, "param", "tiny"))


def dataset_keys(runtime: Runtime, dataset_id: int) -> list[str]:
    with session_scope(runtime.sessions) as s:
        rows = s.query(ImageRow).filter(ImageRow.dataset_id == dataset_id).order_by(ImageRow.id).all()
        return [r.blob_key for r in rows]


async def _train(client: httpx.AsyncClient, auth: dict, runtime: Runtime, dataset_id: int) -> int:
    mid = await start_model(client, auth, dataset_id, total_training_steps=100, checkpoint_interval=100)
    assert run_pending(runtime.queue, runtime.job_context()) >= 1
    r = await client.get(f"{BASE}/models/{mid}", headers=auth)
    assert r.json()["status"] == "Completed", r.json()
    return mid


def _render_base(tiny_dir: Path, prompts: list[str], seeds: list[int]) -> list[Image.Image]:
    """What the base model renders for the validation set: the trainer's sampling call on a fresh
    pipeline (prompts and negative prompt as FIBO's reference inference serialises them)."""
    from diffusers import BriaFiboPipeline

    from tailor.engine.families.fibo import FIBO

    pipe = BriaFiboPipeline.from_pretrained(tiny_dir)
    pipe.set_progress_bar_config(disable=True)
    return [
        pipe(
            prompt=FIBO.inference_prompt(p),
            **FIBO.pipe_kwargs(None),
            width=128,
            height=128,
            num_inference_steps=2,
            guidance_scale=5.0,
            generator=torch.Generator(device="cpu").manual_seed(seed),
        ).images[0]
        for p, seed in zip(prompts, seeds, strict=True)
    ]


async def test_scored_checkpoints(
    client: httpx.AsyncClient, auth: dict, runtime: Runtime, token: str, tiny_dir: Path
) -> None:
    seeded = seed_dataset(runtime, token)
    mid = await _train(client, auth, runtime, seeded.dataset_id)

    r = await client.get(f"{BASE}/models/{mid}/evaluation", headers=auth)
    assert r.status_code == 200, r.text
    ev = r.json()
    assert [c["checkpoint_step"] for c in ev["checkpoints"]] == [1, 2]
    assert ev["scorer"].startswith("clip=") and "tiny-dinov2-v1" in ev["scorer"]
    items = validation_set(SCHEMA, caption(0), 1)
    for c in ev["checkpoints"]:
        s = c["scores"]
        assert c["error"] is None and c["loss"] > 0
        assert set(s) >= {"dino", "clip_i", "clip_t", "memorisation", "per_image", "seeds", "prompts"}
        assert s["seeds"] == list(VALIDATION_SEEDS[:1]) and s["prompts"] == [i.text for i in items]
        assert len(s["per_image"]) == 1 and all(-1.0 <= s[k] <= 1.0 for k in ("dino", "clip_i", "clip_t"))
        grid = Image.open(io.BytesIO(await fetch(client, c["grid_image_urls"][0])))
        assert grid.size == (128, 128)
    assert ev["loss_history"]

    # the base grid is the base model's rendering of the validation set at the stated seeds
    base = ev["base"]
    assert base is not None and base["scores"]["seeds"] == [101]
    grid = Image.open(io.BytesIO(await fetch(client, base["grid_image_urls"][0]))).convert("RGB")
    expected = _render_base(tiny_dir, [i.prompt for i in items], [i.seed for i in items])
    for n, im in enumerate(expected):
        got = torch.tensor(list(grid.crop((n * 128, 0, (n + 1) * 128, 128)).getdata()), dtype=torch.float32)
        want = torch.tensor(list(im.convert("RGB").getdata()), dtype=torch.float32)
        assert (got - want).abs().max() <= 1.0

    # scoring the stored grid again with freshly loaded scoring models gives the recorded scores
    scorer = Scorer(parse_eval_models("tiny", runtime.settings.models_dir))
    ref_images = []
    for key in dataset_keys(runtime, seeded.dataset_id):
        with Image.open(io.BytesIO(runtime.blobs.get(key))) as im:
            small = im.convert("RGB")
            small.thumbnail((REFERENCE_SIDE, REFERENCE_SIDE))
            ref_images.append(small)
    again = score(scorer, reference(scorer, ref_images), [grid], [i.text for i in items])
    assert {k: again[k] for k in ("dino", "clip_i", "clip_t", "memorisation")} == {
        k: base["scores"][k] for k in ("dino", "clip_i", "clip_t", "memorisation")
    }

    # "best" follows the written rule on the reported scores
    rule_says = best_checkpoint(
        base["scores"], [(c["checkpoint_step"], c["scores"]) for c in ev["checkpoints"]]
    )
    assert ev["best_checkpoint_step"] == (None if rule_says is None else str(rule_says))
    r = await client.put(f"{BASE}/models/{mid}", json={"active_model_version": "best"}, headers=auth)
    if rule_says is None:
        assert r.status_code == 409 and "best" in r.json()["error"]["message"]
    else:
        assert r.status_code == 200 and r.json()["active_model_version"] == str(rule_says)

    # the base reference was rendered once (at the first checkpoint), for the dataset
    with session_scope(runtime.sessions) as s:
        bases = eval_store.base_references(s, seeded.dataset_id)
        assert [(b.model_id, b.checkpoint_step) for b in bases] == [(mid, None)]
        assert eval_store.base_reference(s, seeded.dataset_id, ev["scorer"]) is not None


@pytest.mark.parametrize("settings", ["clip=/nonexistent/clip,dino=/nonexistent/dino"], indirect=True)
async def test_scoring_error_never_fails_training(
    client: httpx.AsyncClient, auth: dict, runtime: Runtime, token: str
) -> None:
    seeded = seed_dataset(runtime, token)
    mid = await _train(client, auth, runtime, seeded.dataset_id)
    ev = (await client.get(f"{BASE}/models/{mid}/evaluation", headers=auth)).json()
    assert [c["checkpoint_step"] for c in ev["checkpoints"]] == [1, 2]
    for c in ev["checkpoints"]:
        assert c["scores"] is None and "cannot load the scoring models" in c["error"]
    assert ev["best_checkpoint_step"] is None and ev["base"] is None
    r = await client.put(f"{BASE}/models/{mid}", json={"active_model_version": "best"}, headers=auth)
    assert r.status_code == 409 and "scored" in r.json()["error"]["message"]
    with session_scope(runtime.sessions) as s:
        assert all(e.error for e in s.query(Evaluation).all())


async def test_evaluation_off_and_unknown(client: httpx.AsyncClient, auth: dict) -> None:
    r = await client.get(f"{BASE}/models/999/evaluation", headers=auth)
    assert r.status_code == 404
    r = await client.put(f"{BASE}/models/999", json={"active_model_version": "worst"}, headers=auth)
    assert r.status_code == 400 and "active_model_version" in r.json()["error"]["message"]
