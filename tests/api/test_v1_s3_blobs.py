"""A subset of the v1 image flows with the S3-compatible blob store (moto on loopback)."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest

from tailor.bootstrap import Runtime
from tailor.config import Settings
from tailor.store.blob_s3 import S3BlobStore
from tailor.worker.run import run_pending
from tests.conftest import make_settings
from tests.services.factory import image_bytes, png_header_only, zip_bytes
from tests.services.v1_support import API, blob_keys, make_dataset, upload


@pytest.fixture
def settings(tmp_path: Path, db_url: str, s3_server: str) -> Settings:
    S3BlobStore("tailor-api", endpoint_url=s3_server).ensure_bucket()
    prefix = f"run-{uuid.uuid4().hex[:8]}"
    return make_settings(
        tmp_path / "home", db_url, blob_url=f"s3://tailor-api/{prefix}", s3_endpoint_url=s3_server
    )


async def test_upload_serve_clone_delete_on_s3(
    client: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime
) -> None:
    assert isinstance(runtime.blobs, S3BlobStore)
    d = await make_dataset(client, auth)
    data = image_bytes()
    img = (await upload(client, auth, d["id"], data)).json()
    r = await client.get(img["image_url"].removeprefix("http://tailor.test"))
    assert r.status_code == 200 and r.content == data
    assert (await client.get(img["thumbnail_url"].removeprefix("http://tailor.test"))).status_code == 200
    assert len(blob_keys(runtime)) == 2
    r = await upload(client, auth, d["id"], png_header_only(9000, 9000))
    assert r.status_code == 413 and len(blob_keys(runtime)) == 2
    clone = (await client.post(f"{API}/datasets/{d['id']}/clone", headers=auth)).json()
    assert (await client.delete(f"{API}/datasets/{d['id']}", headers=auth)).status_code == 204
    assert len(blob_keys(runtime)) == 2  # still used by the clone
    assert (await client.delete(f"{API}/datasets/{clone['id']}", headers=auth)).status_code == 204
    assert blob_keys(runtime) == set()


async def test_bulk_upload_on_s3(client: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime) -> None:
    d = await make_dataset(client, auth, upload_type="advanced")
    archive = zip_bytes({"a.jpg": image_bytes(), "b.png": image_bytes(fmt="PNG"), "c.txt": b"x"})
    r = await client.post(
        f"{API}/datasets/{d['id']}/images/bulk-upload", files={"file": ("a.zip", archive)}, headers=auth
    )
    assert r.status_code == 202
    run_pending(runtime.queue, runtime.job_context())
    st = (await client.get(f"{API}/datasets/{d['id']}/images/bulk-upload/status", headers=auth)).json()
    assert (st["status"], st["done"], st["failed"]) == ("completed", 2, 1)
    assert len(blob_keys(runtime)) == 4 and all(k.startswith("images/") for k in blob_keys(runtime))
