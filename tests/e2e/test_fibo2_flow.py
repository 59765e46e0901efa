"""FIBO 2 as a tailored base model, on the tiny FIBO 2 (its real architecture, random weights):
dataset -> training on ``fibo-2`` -> tailored generation -> recreation byte for byte; the adapter
loads with diffusers' own ``BriaFibo2Pipeline.load_lora_weights`` and reproduces the served image;
tailored editing of several images; the same adapter served on turbo weights keeps every key."""

from __future__ import annotations

import base64
import io
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tailor.bootstrap import Runtime
from tailor.config import Settings
from tailor.engine.families import get_family
from tailor.worker.run import run_pending
from tests.conftest import make_settings
from tests.engine.training.helpers import png, seed_dataset

V1 = "/v1/tailored-gen"
FIBO2 = get_family("fibo-2")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def fibo2_dirs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The tiny FIBO 2 and its tiny turbo stand-in (other random weights), saved once."""
    from tailor.engine.tiny import ensure_tiny_model

    base = tmp_path_factory.mktemp("fibo2-models")
    return ensure_tiny_model(base, FIBO2), ensure_tiny_model(base, FIBO2, turbo=True)


@pytest.fixture
def db_url(tmp_path: Path) -> Iterator[str]:
    yield f"sqlite:///{tmp_path / 'tailor.db'}"  # the database plays no part here


@pytest.fixture
def settings(tmp_path: Path, db_url: str, fibo2_dirs: tuple[Path, Path]) -> Settings:
    return make_settings(
        tmp_path / "home",
        db_url,
        base_model="tiny",
        base_models=f"fibo-2={fibo2_dirs[0]}",
        device="cpu",
        max_steps=2,
        training_max_steps=2,
        training_checkpoint_interval=2,
        training_grad_accumulation=1,
        training_gradient_checkpointing=False,
        training_sample_steps=1,
        job_retry_backoff_s=0.0,
    )


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


async def _result(client: httpx.AsyncClient, auth: dict, runtime: Runtime, r: httpx.Response) -> dict:
    assert r.status_code == 202, r.text
    run_pending(runtime.queue, runtime.job_context())
    status = (await client.get(f"/v2/status/{r.json()['request_id']}", headers=auth)).json()
    assert status["status"] == "COMPLETED", status
    image = await client.get(status["result"]["image_url"].removeprefix("http://tailor.test"))
    assert image.status_code == 200
    return {**status["result"], "png": image.content}


def _lora_modules(transformer: Any, adapter: str) -> set[str]:
    return {n for n, m in transformer.named_modules() if adapter in (getattr(m, "lora_A", None) or {})}


async def test_fibo2_tailored_flow_and_editing(
    client: httpx.AsyncClient, auth: dict, runtime: Runtime, token: str, fibo2_dirs: tuple[Path, Path]
) -> None:
    import torch
    from diffusers import BriaFibo2Pipeline
    from safetensors import safe_open

    from tailor.engine.families.fibo2 import load_processor
    from tailor.engine.generation import Generator, encode_png
    from tailor.store.tables import Job, TailoredModel

    seeded = seed_dataset(runtime, token, n=2)
    r = await client.post(
        f"{V1}/models",
        json={"name": "F2", "dataset_id": seeded.dataset_id, "training_version": "fibo-2"},
        headers=auth,
    )
    assert r.status_code == 201 and r.json()["training_version"] == "fibo-2", r.text
    model_id = r.json()["id"]
    r = await client.post(f"{V1}/models/{model_id}/start_training", headers=auth)
    assert r.status_code == 200, r.text
    run_pending(runtime.queue, runtime.job_context())
    model = (await client.get(f"{V1}/models/{model_id}", headers=auth)).json()
    assert model["status"] == "Completed", model
    assert (model["training_version"], model["base_weights"]) == ("fibo-2", str(fibo2_dirs[0]))
    project = (await client.get(f"{V1}/projects/{seeded.project_id}", headers=auth)).json()
    assert project["training_version"] == "fibo-2"
    r = await client.get(f"{V1}/models/{model_id}/download", headers=auth)
    assert r.status_code == 200, r.text
    archive = await client.get(r.json()["download_url"].removeprefix("http://tailor.test"))
    import zipfile

    card = zipfile.ZipFile(io.BytesIO(archive.content)).read("README.md").decode()
    assert (
        "BRIA-FIBO-2" in card and "BriaFibo2Pipeline.load_lora_weights" in card and str(fibo2_dirs[0]) in card
    )

    # generate, then recreate from the structured prompt and seed: the same bytes
    body = {"tailored_model_id": str(model_id), "prompt": "a red square", "seed": 3}
    first = await _result(
        client, auth, runtime, await client.post("/v2/image/generate/tailored", json=body, headers=auth)
    )
    with runtime.sessions() as s:
        job = s.query(Job).filter(Job.kind == "generate_image").order_by(Job.id.desc()).first()
        assert (job.payload["steps_num"], job.payload["guidance_scale"]) == (30, 5.0)  # FIBO 2's defaults
        adapter_key = s.get(TailoredModel, model_id).adapter_key
    again = {"tailored_model_id": str(model_id), "structured_prompt": first["structured_prompt"], "seed": 3}
    second = await _result(
        client, auth, runtime, await client.post("/v2/image/generate/tailored", json=again, headers=auth)
    )
    assert second["png"] == first["png"]

    # diffusers' own loader reproduces the served image from the adapter file
    adapter = runtime.blobs.get(adapter_key)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "pytorch_lora_weights.safetensors"
        path.write_bytes(adapter)
        with safe_open(str(path), framework="pt") as f:
            file_modules = {k.removeprefix("transformer.").split(".lora_")[0] for k in f.keys()}
        pipe = BriaFibo2Pipeline.from_pretrained(
            fibo2_dirs[0], processor=load_processor(fibo2_dirs[0] / "processor")
        )
        pipe.set_progress_bar_config(disable=True)
        pipe.load_lora_weights(str(path))
        out = pipe(
            prompt=first["structured_prompt"],
            width=128,
            height=128,
            num_inference_steps=2,
            guidance_scale=5.0,
            generator=torch.Generator(device="cpu").manual_seed(3),
        )
        assert encode_png(out.images[0]) == first["png"]

        # the same adapter on the turbo weights: every module of the file gets its LoRA
        turbo_settings = runtime.settings.model_copy(update={"fibo2_turbo": str(fibo2_dirs[1])})
        gen = Generator(turbo_settings, runtime.blobs)
        entry = gen.loaded("fibo-2")
        assert entry.turbo and entry.tiny
        entry.adapters.activate(adapter_key, 1.0)
        (name,) = entry.pipe.get_list_adapters()["transformer"]
        assert _lora_modules(entry.pipe.transformer, name) == file_modules and len(file_modules) > 10

    # tailored editing of two images, referred to in the instruction; recreated from the result
    images = [b64(png((200, 30, 30), size=96)), b64(png((30, 30, 200), size=64))]
    edit = {
        "tailored_model_id": str(model_id),
        "images": images,
        "instruction": "put the square of <image_2> into <image_1>",
        "seed": 5,
    }
    edited = await _result(
        client, auth, runtime, await client.post("/v2/image/edit/tailored", json=edit, headers=auth)
    )
    assert edited["seed"] == 5 and '"edit_instruction"' in edited["structured_prompt"]
    redo = {**edit, "instruction": None, "structured_instruction": edited["structured_prompt"]}
    redone = await _result(
        client, auth, runtime, await client.post("/v2/image/edit/tailored", json=redo, headers=auth)
    )
    assert redone["png"] == edited["png"] and redone["png"] != first["png"]

    # one image with a mask, through Bria's /v2/image/edit (the base FIBO 2)
    mask = io.BytesIO()
    from PIL import Image

    m = Image.new("L", (96, 96))
    m.paste(255, (16, 16, 64, 64))
    m.save(mask, format="PNG")
    masked = {
        "images": [images[0]],
        "instruction": "remove the square",
        "mask": b64(mask.getvalue()),
        "seed": 5,
    }
    base = await _result(
        client, auth, runtime, await client.post("/v2/image/edit", json=masked, headers=auth)
    )
    assert base["png"][:8] == b"\x89PNG\r\n\x1a\n" and base["png"] != edited["png"]
