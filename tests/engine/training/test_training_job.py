"""The ``train_model`` job through the API: train, checkpoints, active version, download, delete.

Runs on the tiny model with the test settings of ``conftest.py`` (8 steps, a checkpoint every 4).
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import httpx
import pytest
import torch
from safetensors.torch import load as load_safetensors

from tailor.bootstrap import Runtime
from tailor.store.checkpoints import serving_adapter
from tailor.store.db import session_scope
from tailor.store.tables import TailoredModel
from tailor.worker.run import run_pending
from tests.engine.training.helpers import caption, seed_dataset

BASE = "/v1/tailored-gen"


async def start_model(client: httpx.AsyncClient, auth: dict, dataset_id: int, **params: object) -> int:
    r = await client.post(
        f"{BASE}/models",
        json={"name": "Reds", "dataset_id": dataset_id, "training_mode": "expert"},
        headers=auth,
    )
    mid = r.json()["id"]
    r = await client.post(f"{BASE}/models/{mid}/start_training", json=params, headers=auth)
    assert r.status_code == 200, r.text
    return mid


async def fetch(client: httpx.AsyncClient, url: str) -> bytes:
    r = await client.get(url.removeprefix("http://tailor.test"))
    assert r.status_code == 200, (url, r.status_code)
    return r.content


def served_png(runtime: Runtime, key: str, tiny_dir: Path) -> bytes:
    """What the generation service renders with this adapter (seeded, 4 steps, 128x128)."""
    from tailor.engine.generation import Generator, ImageRequest

    gen = Generator(runtime.settings, runtime.blobs)
    return gen.generate(ImageRequest(structured_prompt=caption(1), seed=7, steps=4, adapter_key=key))


def safe_metadata(path: Path) -> dict[str, str]:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        return dict(f.metadata() or {})


def png_with_file(path: Path, tiny_dir: Path) -> bytes:
    """The same request on a fresh pipeline with a downloaded adapter file loaded into it."""
    from diffusers import BriaFiboPipeline

    from tailor.engine.fibo_recipe import inference_prompt
    from tailor.engine.generation import encode_png

    pipe = BriaFiboPipeline.from_pretrained(tiny_dir)
    pipe.set_progress_bar_config(disable=True)
    pipe.load_lora_weights(str(path), adapter_name="downloaded")
    out = pipe(
        prompt=inference_prompt(caption(1)),  # as FIBO's reference inference serialises it
        negative_prompt="",
        width=128,
        height=128,
        num_inference_steps=4,
        guidance_scale=5.0,
        generator=torch.Generator().manual_seed(7),
    )
    return encode_png(out.images[0])


async def test_train_checkpoints_choose_version_download_delete(
    client: httpx.AsyncClient, auth: dict, runtime: Runtime, token: str, tiny_dir: Path, tmp_path: Path
) -> None:
    seeded = seed_dataset(runtime, token)
    mid = await start_model(
        client, auth, seeded.dataset_id, total_training_steps=100, checkpoint_interval=100
    )
    assert run_pending(runtime.queue, runtime.job_context()) >= 1

    r = await client.get(f"{BASE}/models/{mid}", headers=auth)
    body = r.json()
    assert body["status"] == "Completed", body
    assert body["active_model_version"] == "8" and body["checkpoint_steps"] == ["8", "4"]
    assert body["training_version"] == "fibo"
    progress = body["training_progress"]
    assert progress["step"] == progress["total_steps"] == 8 and progress["loss"] > 0
    assert len(progress["sample_image_urls"]) == 2
    assert (await fetch(client, progress["sample_image_urls"][0]))[:8] == b"\x89PNG\r\n\x1a\n"
    # the schedule as the trainer's scheduler computes it (8 steps, still warming up over the 10 of a
    # 100-step run), the rate the last step used, the time taken, and what a later estimate reads
    lrs = [lr for _, lr in progress["lr_schedule"]]
    assert [s for s, _ in progress["lr_schedule"]] == list(range(1, 9))
    assert lrs == pytest.approx([1e-4 * k / 10 for k in range(8)])
    assert progress["learning_rate"] == pytest.approx(lrs[-1])
    assert progress["elapsed_seconds"] > 0 and progress["seconds_per_step"] > 0 and progress["started_at"]
    assert progress["sample_seed"] == 1234 and "short_description" in progress["sample_prompt"]
    run = progress["run"]
    assert run["device"] == "cpu" and run["rank"] == 128 and run["weights"] == str(tiny_dir)
    assert (
        run["adapter_bytes"] > 0 and run["state_bytes"] > run["adapter_bytes"] and run["setup_seconds"] >= 0
    )
    r = await client.post(
        f"{BASE}/models",
        json={"name": "Next", "dataset_id": seeded.dataset_id, "training_mode": "expert"},
        headers=auth,
    )
    est = (await client.get(f"{BASE}/models/{r.json()['id']}/training_estimate", headers=auth)).json()
    assert (
        est["basis"]["source"] == "measured" and est["basis"]["runs"] == 1 and est["basis"]["device"] == "cpu"
    )
    assert est["seconds_per_step"] == pytest.approx(run["seconds_per_step"], rel=1e-3)
    assert (
        est["total_steps"] == 8 and est["overrides"][0] == "TAILOR_TRAINING_MAX_STEPS caps the run at 8 steps"
    )

    r = await client.get(f"{BASE}/models/{mid}/checkpoints", headers=auth)
    ck = r.json()
    assert ck["active_model_version"] == "8"
    assert [c["checkpoint_step"] for c in ck["checkpoints"]] == [8, 4]
    with session_scope(runtime.sessions) as s:
        model = s.get(TailoredModel, mid)
        job_id = model.job_id
        final_key = serving_adapter(s, model).key
    assert {c["training_job_id"] for c in ck["checkpoints"]} == {job_id}
    r = await client.get(f"{BASE}/models/{mid}/checkpoints/4", headers=auth)
    assert r.status_code == 200 and r.json()["checkpoint_step"] == 4 and r.json()["sample_image_url"]

    # download: a zip with both layouts and a card; the diffusers file reproduces the served images
    r = await client.get(f"{BASE}/models/{mid}/download", headers=auth)
    assert r.status_code == 200
    dl = r.json()
    assert dl["base_model_name"] == "BRIA-FIBO" and dl["base_model_card"].startswith(
        "https://huggingface.co/"
    )
    zf = zipfile.ZipFile(io.BytesIO(await fetch(client, dl["download_url"])))
    assert set(zf.namelist()) == {"diffusers/pytorch_lora_weights.safetensors", "README.md"}
    card = zf.read("README.md").decode()
    assert "CC BY-NC 4.0" in card and "6 images" in card and "rank" in card
    diffusers_file = tmp_path / "pytorch_lora_weights.safetensors"
    diffusers_file.write_bytes(zf.read("diffusers/pytorch_lora_weights.safetensors"))
    assert diffusers_file.read_bytes() == runtime.blobs.get(final_key)
    assert png_with_file(diffusers_file, tiny_dir) == served_png(runtime, final_key, tiny_dir)
    meta = json.loads(safe_metadata(diffusers_file)["lora_adapter_metadata"])
    assert meta["transformer.r"] == meta["transformer.lora_alpha"] == 128  # the expert default rank
    assert {"norm1.linear", "norm1_context.linear", "norm.linear"} <= set(meta["transformer.target_modules"])


async def test_active_version_and_checkpoint_deletion(
    client: httpx.AsyncClient, auth: dict, runtime: Runtime, token: str
) -> None:
    seeded = seed_dataset(runtime, token, n=5)
    mid = await start_model(client, auth, seeded.dataset_id, rank=8)
    run_pending(runtime.queue, runtime.job_context())

    r = await client.delete(f"{BASE}/models/{mid}/checkpoints/8", headers=auth)
    assert r.status_code == 400 and "active_model_version" in r.json()["error"]["message"]
    r = await client.put(f"{BASE}/models/{mid}", json={"active_model_version": "5"}, headers=auth)
    assert r.status_code == 400 and "active_model_version" in r.json()["error"]["message"]
    r = await client.put(f"{BASE}/models/{mid}", json={"active_model_version": "4"}, headers=auth)
    assert r.status_code == 200 and r.json()["active_model_version"] == "4"
    with session_scope(runtime.sessions) as s:
        key4 = serving_adapter(s, s.get(TailoredModel, mid)).key
    assert "/checkpoints/000004/" in key4
    dl4 = (await client.get(f"{BASE}/models/{mid}/download", headers=auth)).json()["download_url"]
    saved = await client.get(dl4.removeprefix("http://tailor.test"))
    # saved under the model's name and version, not the blob's "000004.zip"
    assert re.search(r'filename="[A-Za-z0-9._-]+-step4\.zip"', saved.headers["content-disposition"])
    zf = zipfile.ZipFile(io.BytesIO(await fetch(client, dl4)))
    assert zf.read("diffusers/pytorch_lora_weights.safetensors") == runtime.blobs.get(key4)
    assert "Checkpoint (step): 4" in zf.read("README.md").decode()

    r = await client.put(f"{BASE}/models/{mid}", json={"active_model_version": 8}, headers=auth)
    assert r.json()["active_model_version"] == "8"
    assert (await client.delete(f"{BASE}/models/{mid}/checkpoints/4", headers=auth)).status_code == 204
    assert not list(runtime.blobs.list(f"models/{mid}/checkpoints/000004/"))
    r = await client.get(f"{BASE}/models/{mid}", headers=auth)
    assert r.json()["checkpoint_steps"] == ["8"]

    assert (await client.delete(f"{BASE}/models/{mid}", headers=auth)).status_code == 204
    assert not list(runtime.blobs.list(f"models/{mid}/"))


async def test_rank_and_alpha_are_recoverable_from_the_adapter(
    client: httpx.AsyncClient, auth: dict, runtime: Runtime, token: str
) -> None:
    seeded = seed_dataset(runtime, token, n=5)
    mid = await start_model(client, auth, seeded.dataset_id, rank=8, lr_scheduler="linear")
    run_pending(runtime.queue, runtime.job_context())
    with session_scope(runtime.sessions) as s:
        key = serving_adapter(s, s.get(TailoredModel, mid)).key
    sidecar = json.loads(runtime.blobs.get(key + ".json"))
    assert sidecar["r"] == 8 and sidecar["lora_alpha"] == 8
    tensors = load_safetensors(runtime.blobs.get(key))
    a = next(v for k, v in tensors.items() if k.endswith("lora_A.weight"))
    assert a.shape[0] == 8
