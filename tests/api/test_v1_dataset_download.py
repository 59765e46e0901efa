"""``GET /v1/datasets/{id}/download`` and its ``/v1/tailored-gen`` alias: the images zip, the
captions (JSON lines), built in the request or by a job for large datasets; 409 for basic ones."""

from __future__ import annotations

import io
import json
import zipfile

import httpx
from sqlalchemy import select

from tailor.bootstrap import Runtime
from tailor.store.db import session_scope
from tailor.store.tables import Dataset, Image, Job
from tailor.worker.run import run_pending
from tests.engine.training.helpers import seed_dataset

PATHS = ("/v1/datasets/{}/download", "/v1/tailored-gen/datasets/{}/download")


def _advanced(rt: Runtime, token: str, **kw: object) -> int:
    seeded = seed_dataset(rt, token, **kw)  # type: ignore[arg-type]
    with session_scope(rt.sessions) as s:
        ds = s.get(Dataset, seeded.dataset_id)
        assert ds is not None
        ds.upload_type = "advanced"
    return seeded.dataset_id


async def test_download_gives_the_images_and_their_captions(
    client: httpx.AsyncClient, auth: dict, runtime: Runtime, token: str
) -> None:
    dataset_id = _advanced(runtime, token)
    with runtime.sessions() as s:
        images = list(s.scalars(select(Image).where(Image.dataset_id == dataset_id).order_by(Image.id)))
        stored = {img.image_name: runtime.blobs.get(img.blob_key) for img in images}
        captions = {img.image_name: json.loads(img.caption or "") for img in images}
    for path in PATHS:
        r = await client.get(path.format(dataset_id), headers=auth)
        assert r.status_code == 200, r.text
        body = r.json()
        archive = zipfile.ZipFile(io.BytesIO((await client.get(body["download_url"])).content))
        assert {n: archive.read(n) for n in archive.namelist()} == stored
        lines = (await client.get(body["captions_url"])).text.splitlines()
        assert {json.loads(line)["image_name"]: json.loads(line)["caption"] for line in lines} == captions
    # the same dataset state is zipped once
    with runtime.sessions() as s:
        org = s.get(Dataset, dataset_id).organization_id  # type: ignore[union-attr]
    assert len([k for k in runtime.blobs.list(f"exports/{org}/") if k.endswith(".zip")]) == 1

    # a caption changes: a new export, captions_url left out while one image has none
    with session_scope(runtime.sessions) as s:
        img = s.scalars(select(Image).where(Image.dataset_id == dataset_id)).first()
        assert img is not None
        img.caption = None
    body = (await client.get(PATHS[0].format(dataset_id), headers=auth)).json()
    assert "captions_url" not in body and body["download_url"]
    assert len([k for k in runtime.blobs.list(f"exports/{org}/") if k.endswith(".zip")]) == 2

    assert (await client.delete(f"/v1/tailored-gen/datasets/{dataset_id}", headers=auth)).status_code == 204
    assert list(runtime.blobs.list(f"exports/{org}/")) == []
    assert (await client.get(body["download_url"])).status_code == 404


async def test_basic_unknown_and_foreign_datasets(
    client: httpx.AsyncClient, auth: dict, runtime: Runtime, token: str
) -> None:
    basic = seed_dataset(runtime, token).dataset_id
    for path in PATHS:
        r = await client.get(path.format(basic), headers=auth)
        assert r.status_code == 409 and "advanced" in r.json()["error"]["message"]
        assert (await client.get(path.format(999999), headers=auth)).status_code == 404
        assert (await client.get(path.format(basic))).status_code == 401


async def test_a_large_dataset_is_zipped_by_a_job(
    client: httpx.AsyncClient, auth: dict, runtime: Runtime, token: str
) -> None:
    runtime.settings.dataset_export_inline_max_images = 2
    dataset_id = _advanced(runtime, token, n=5)
    for _ in range(2):  # asking again while it is built does not queue a second job
        r = await client.get(PATHS[1].format(dataset_id), headers=auth)
        assert r.status_code == 202 and r.json()["status"] == "IN_PROGRESS"
        assert int(r.headers["Retry-After"]) > 0
    with runtime.sessions() as s:
        assert len(list(s.scalars(select(Job).where(Job.kind == "export_dataset")))) == 1
    assert run_pending(runtime.queue, runtime.job_context(), kinds=["export_dataset"]) == 1
    r = await client.get(PATHS[1].format(dataset_id), headers=auth)
    assert r.status_code == 200, r.text
    archive = zipfile.ZipFile(io.BytesIO((await client.get(r.json()["download_url"])).content))
    assert len(archive.namelist()) == 5
