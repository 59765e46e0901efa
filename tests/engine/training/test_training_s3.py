"""Training with the S3-compatible blob store (moto on loopback): checkpoints, download, delete."""

from __future__ import annotations

import io
import uuid
import zipfile
from pathlib import Path

import httpx
import pytest

from tailor.bootstrap import Runtime
from tailor.config import Settings
from tailor.store.blob_s3 import S3BlobStore
from tailor.worker.run import run_pending
from tests.conftest import make_settings
from tests.engine.training.helpers import seed_dataset
from tests.engine.training.test_training_job import BASE, fetch, start_model


@pytest.fixture
def settings(tmp_path: Path, db_url: str, s3_server: str, tiny_dir: Path) -> Settings:
    S3BlobStore("tailor-train", endpoint_url=s3_server).ensure_bucket()
    return make_settings(
        tmp_path / "home",
        db_url,
        blob_url=f"s3://tailor-train/run-{uuid.uuid4().hex[:8]}",
        s3_endpoint_url=s3_server,
        base_model=str(tiny_dir),
        device="cpu",
        training_max_steps=4,
        training_checkpoint_interval=2,
        training_grad_accumulation=1,
        training_gradient_checkpointing=False,
        training_sample_steps=2,
    )


async def test_training_on_s3(client: httpx.AsyncClient, auth: dict, runtime: Runtime, token: str) -> None:
    assert isinstance(runtime.blobs, S3BlobStore)
    seeded = seed_dataset(runtime, token, n=5)
    mid = await start_model(client, auth, seeded.dataset_id, rank=4)
    run_pending(runtime.queue, runtime.job_context())
    body = (await client.get(f"{BASE}/models/{mid}", headers=auth)).json()
    assert body["status"] == "Completed" and body["checkpoint_steps"] == ["4", "2"]
    dl = (await client.get(f"{BASE}/models/{mid}/download", headers=auth)).json()
    zf = zipfile.ZipFile(io.BytesIO(await fetch(client, dl["download_url"])))
    assert "comfyui/lora.safetensors" in zf.namelist()
    assert (await client.delete(f"{BASE}/models/{mid}", headers=auth)).status_code == 204
    assert not list(runtime.blobs.list(f"models/{mid}/"))
