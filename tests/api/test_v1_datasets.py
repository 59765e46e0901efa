"""/v1/tailored-gen/datasets through real HTTP: CRUD, state machine, frozen datasets, clone, captions."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from tailor.bootstrap import Runtime
from tailor.store.db import session_scope
from tailor.store.tables import Job
from tests.conftest import new_token
from tests.services.factory import image_bytes
from tests.services.v1_support import (
    API,
    CAPTION,
    SCHEMA,
    add_model,
    blob_keys,
    error_of,
    make_dataset,
    make_project,
    upload,
)


async def _filled(client: httpx.AsyncClient, auth: dict[str, str], n: int, **kw: object) -> dict:
    d = await make_dataset(client, auth, **kw)  # type: ignore[arg-type]
    img = image_bytes()
    for i in range(n):
        r = await upload(client, auth, d["id"], img, name=f"{i}.jpg")
        assert r.status_code == 201, r.text
    return d


def _caption_jobs(rt: Runtime) -> list[dict]:
    with session_scope(rt.sessions) as s:
        return [j.payload for j in s.scalars(select(Job).where(Job.kind == "caption_image").order_by(Job.id))]


async def test_create_and_read(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    d = await make_dataset(client, auth)
    assert d["status"] == "draft" and d["upload_type"] == "basic"
    assert d["visual_schema"] is None and d["captions_update_status"] == "empty"
    assert d["images_count"] == 0 and "images" not in d
    adv = await make_dataset(client, auth, upload_type="advanced", project_id=d["project_id"])
    assert adv["upload_type"] == "advanced"
    r = await client.get(f"{API}/datasets/{d['id']}", headers=auth)
    assert r.status_code == 200 and r.json()["images"] == []
    r = await client.get(f"{API}/datasets", headers=auth)
    assert [x["id"] for x in r.json()] == [adv["id"], d["id"]]
    assert all("images" not in x for x in r.json())


async def test_create_validation(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    p = await make_project(client, auth)
    r = await client.post(f"{API}/datasets", json={"project_id": p["id"]}, headers=auth)
    assert r.status_code == 400 and "name" in error_of(r)
    r = await client.post(
        f"{API}/datasets", json={"project_id": p["id"], "name": "x", "upload_type": "huge"}, headers=auth
    )
    assert r.status_code == 400 and "upload_type" in error_of(r)
    r = await client.post(f"{API}/datasets", json={"project_id": 999, "name": "x"}, headers=auth)
    assert r.status_code == 404


async def test_get_max_images(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    d = await _filled(client, auth, 3)
    r = await client.get(f"{API}/datasets/{d['id']}", params={"max_images": 2}, headers=auth)
    body = r.json()
    assert body["images_count"] == 3 and len(body["images"]) == 2
    img = body["images"][0]
    assert img["image_url"].startswith("http://tailor.test/files/") and img["thumbnail_url"]
    for bad in (0, 201):
        r = await client.get(f"{API}/datasets/{d['id']}", params={"max_images": bad}, headers=auth)
        assert r.status_code == 400 and "max_images" in error_of(r)


async def test_project_datasets_with_models(
    client: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime
) -> None:
    d = await make_dataset(client, auth)
    d2 = await make_dataset(client, auth, project_id=d["project_id"])
    other = await make_dataset(client, auth)
    mid = add_model(runtime, d, "Completed")
    url = f"{API}/projects/{d['project_id']}/datasets"
    r = await client.get(url, headers=auth)
    assert [x["id"] for x in r.json()] == [d2["id"], d["id"]]
    assert all("models" not in x and "model_ids" not in x for x in r.json())
    r = await client.get(url, params={"include_models_ids": "true"}, headers=auth)
    assert {x["id"]: x["model_ids"] for x in r.json()} == {d["id"]: [str(mid)], d2["id"]: []}
    r = await client.get(url, params={"include_models": "true"}, headers=auth)
    models = {x["id"]: x["models"] for x in r.json()}
    assert [m["id"] for m in models[d["id"]]] == [mid] and models[d2["id"]] == []
    assert other["id"] not in models
    assert (await client.get(f"{API}/projects/999/datasets", headers=auth)).status_code == 404


async def test_update_name_and_schema(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    d = await make_dataset(client, auth)
    r = await client.put(
        f"{API}/datasets/{d['id']}", json={"name": "renamed", "visual_schema": SCHEMA}, headers=auth
    )
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "renamed" and r.json()["visual_schema"] == SCHEMA
    r = await client.put(f"{API}/datasets/{d['id']}", json={"visual_schema": "not json"}, headers=auth)
    assert r.status_code == 400 and "visual_schema" in error_of(r)
    r = await client.put(f"{API}/datasets/{d['id']}", json={"visual_schema": "[1, 2]"}, headers=auth)
    assert r.status_code == 400 and "visual_schema" in error_of(r)
    r = await client.put(f"{API}/datasets/{d['id']}", json={"status": "archived"}, headers=auth)
    assert r.status_code == 400 and "status" in error_of(r)
    r = await client.put(f"{API}/datasets/{d['id']}", json={"visual_schema": None}, headers=auth)
    assert r.status_code == 200 and r.json()["visual_schema"] is None


async def _caption_all(client: httpx.AsyncClient, auth: dict[str, str], dataset_id: int) -> None:
    """Write every image's caption by hand (no worker runs in these tests)."""
    for img in (await client.get(f"{API}/datasets/{dataset_id}", headers=auth)).json()["images"]:
        r = await client.put(
            f"{API}/datasets/{dataset_id}/images/{img['id']}", json={"caption": CAPTION}, headers=auth
        )
        assert r.status_code == 200, r.text


async def _ready(client: httpx.AsyncClient, auth: dict[str, str], dataset_id: int) -> None:
    r = await client.put(f"{API}/datasets/{dataset_id}", json={"visual_schema": SCHEMA}, headers=auth)
    assert r.status_code == 200, r.text
    await _caption_all(client, auth, dataset_id)


async def test_complete_refuses_what_cannot_train(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    d = await _filled(client, auth, 4)
    complete = {"status": "completed"}
    r = await client.put(f"{API}/datasets/{d['id']}", json=complete, headers=auth)
    message = error_of(r)
    assert r.status_code == 409 and "5 images (it has 4)" in message
    assert "no visual_schema" in message and "4 image(s) have no caption" in message
    await _ready(client, auth, d["id"])
    r = await client.put(f"{API}/datasets/{d['id']}", json=complete, headers=auth)
    assert r.status_code == 409 and "5 images" in error_of(r) and "caption" not in error_of(r)
    # with a schema, an upload is captioned in the background: not ready until that is done
    assert (await upload(client, auth, d["id"], image_bytes())).status_code == 201
    ds = (await client.get(f"{API}/datasets/{d['id']}", headers=auth)).json()
    assert ds["captions_update_status"] == "in_progress"
    r = await client.put(f"{API}/datasets/{d['id']}", json=complete, headers=auth)
    assert r.status_code == 409 and error_of(r).count(";") == 0 and "still being captioned" in error_of(r)
    await _caption_all(client, auth, d["id"])
    r = await client.put(f"{API}/datasets/{d['id']}", json=complete, headers=auth)
    assert r.status_code == 200 and r.json()["status"] == "completed"


async def test_completed_dataset_is_frozen(
    client: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime
) -> None:
    d = await _filled(client, auth, 5)
    await _ready(client, auth, d["id"])
    r = await client.put(f"{API}/datasets/{d['id']}", json={"status": "completed"}, headers=auth)
    assert r.status_code == 200
    image_id = (await client.get(f"{API}/datasets/{d['id']}", headers=auth)).json()["images"][0]["id"]
    keys = blob_keys(runtime)
    checks = [
        await upload(client, auth, d["id"], image_bytes()),
        await client.put(
            f"{API}/datasets/{d['id']}/images/{image_id}", json={"caption": CAPTION}, headers=auth
        ),
        await client.put(
            f"{API}/datasets/{d['id']}/images/{image_id}", json={"regenerate_caption": True}, headers=auth
        ),
        await client.put(f"{API}/datasets/{d['id']}/images", headers=auth),
        await client.put(
            f"{API}/datasets/{d['id']}", json={"visual_schema": '{"style_medium": "oil"}'}, headers=auth
        ),
        await client.delete(f"{API}/datasets/{d['id']}/images/{image_id}", headers=auth),
        await client.put(f"{API}/datasets/{d['id']}", json={"status": "draft"}, headers=auth),
    ]
    assert [r.status_code for r in checks] == [409] * len(checks), [r.text for r in checks]
    assert blob_keys(runtime) == keys
    # renaming is still allowed, and the same schema is not a change
    r = await client.put(
        f"{API}/datasets/{d['id']}", json={"name": "final", "visual_schema": SCHEMA}, headers=auth
    )
    assert r.status_code == 200 and r.json()["status"] == "completed"


async def test_clone(client: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime) -> None:
    d = await _filled(client, auth, 5)
    await _ready(client, auth, d["id"])
    src = (await client.get(f"{API}/datasets/{d['id']}", headers=auth)).json()
    img0 = src["images"][0]["id"]
    r = await client.put(f"{API}/datasets/{d['id']}/images/{img0}", json={"caption": CAPTION}, headers=auth)
    assert r.status_code == 200
    await client.put(f"{API}/datasets/{d['id']}", json={"status": "completed"}, headers=auth)
    r = await client.post(f"{API}/datasets/{d['id']}/clone", headers=auth)
    assert r.status_code == 201, r.text
    c = r.json()
    assert c["status"] == "draft" and c["name"] == "Copy of set" and c["id"] != d["id"]
    assert c["visual_schema"] == SCHEMA and c["images_count"] == 5 and len(c["images"]) == 5
    assert c["images"][0]["caption"] == CAPTION and c["images"][0]["caption_source"] == "manual"
    r = await client.post(
        f"{API}/datasets/{d['id']}/clone", json={"name": "v2", "description": "more poses"}, headers=auth
    )
    assert r.status_code == 201 and r.json()["name"] == "v2"
    # the clone is editable while the source stays frozen
    cimg = c["images"][1]["id"]
    assert (await client.delete(f"{API}/datasets/{c['id']}/images/{cimg}", headers=auth)).status_code == 204
    # deleting the source keeps the blobs the clones still use
    assert (await client.delete(f"{API}/datasets/{d['id']}", headers=auth)).status_code == 204
    clone = (await client.get(f"{API}/datasets/{c['id']}", headers=auth)).json()
    assert clone["images_count"] == 4
    for img in clone["images"]:
        path = img["image_url"].removeprefix("http://tailor.test")
        assert (await client.get(path)).status_code == 200
    # once every dataset using them is gone, so are the blobs
    r = await client.get(f"{API}/datasets", headers=auth)
    for x in r.json():
        assert (await client.delete(f"{API}/datasets/{x['id']}", headers=auth)).status_code == 204
    assert not [k for k in blob_keys(runtime) if k.startswith("images/")]


@pytest.mark.parametrize("status", ["InProgress", "Stopping"])
async def test_delete_refused_while_training(
    client: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime, status: str
) -> None:
    d = await _filled(client, auth, 1)
    add_model(runtime, d, status)
    r = await client.delete(f"{API}/datasets/{d['id']}", headers=auth)
    assert r.status_code == 409 and "training" in error_of(r)
    assert (await client.get(f"{API}/datasets/{d['id']}", headers=auth)).status_code == 200


async def test_delete_removes_images_and_blobs(
    client: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime
) -> None:
    d = await _filled(client, auth, 2)
    assert len(blob_keys(runtime)) == 4
    assert (await client.delete(f"{API}/datasets/{d['id']}", headers=auth)).status_code == 204
    assert blob_keys(runtime) == set()
    assert (await client.get(f"{API}/datasets/{d['id']}/images", headers=auth)).status_code == 404


async def test_regenerate_all_captions(
    client: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime
) -> None:
    d = await _filled(client, auth, 2)
    r = await client.put(f"{API}/datasets/{d['id']}/images", headers=auth)
    assert r.status_code == 412 and "visual_schema" in error_of(r)
    assert _caption_jobs(runtime) == []
    await client.put(f"{API}/datasets/{d['id']}", json={"visual_schema": SCHEMA}, headers=auth)
    r = await client.put(f"{API}/datasets/{d['id']}/images", headers=auth)
    assert r.status_code == 202, r.text
    assert r.json()["captions_update_status"] == "in_progress"
    images = (await client.get(f"{API}/datasets/{d['id']}/images", headers=auth)).json()
    assert {i["caption_source"] for i in images} == {"pending"}
    assert sorted(j["image_id"] for j in _caption_jobs(runtime)) == sorted(i["id"] for i in images)
    assert {j["dataset_id"] for j in _caption_jobs(runtime)} == {d["id"]}


async def test_regenerate_can_spare_manual_captions_or_fill_only_the_missing(
    client: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime
) -> None:
    d = await _filled(client, auth, 3)
    await client.put(f"{API}/datasets/{d['id']}", json={"visual_schema": SCHEMA}, headers=auth)
    manual, _other, _third = (await client.get(f"{API}/datasets/{d['id']}/images", headers=auth)).json()
    r = await client.put(
        f"{API}/datasets/{d['id']}/images/{manual['id']}", json={"caption": CAPTION}, headers=auth
    )
    assert r.status_code == 200
    base = f"{API}/datasets/{d['id']}/images"
    r = await client.put(f"{base}?which=missing", headers=auth)
    assert r.status_code == 202, r.text
    by_id = {i["id"]: i for i in (await client.get(base, headers=auth)).json()}
    assert by_id[manual["id"]]["caption_source"] == "manual" and by_id[manual["id"]]["caption"] == CAPTION
    assert sorted(j["image_id"] for j in _caption_jobs(runtime)) == sorted(set(by_id) - {manual["id"]})
    r = await client.put(f"{base}?which=automatic", headers=auth)
    assert r.status_code == 202
    assert manual["id"] not in {j["image_id"] for j in _caption_jobs(runtime)}
    assert (await client.get(f"{base}/{manual['id']}", headers=auth)).json()["caption_source"] == "manual"
    r = await client.put(f"{base}?which=nonsense", headers=auth)
    assert r.status_code == 400 and "which" in error_of(r)


async def test_other_organization_sees_nothing(
    client: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime
) -> None:
    d = await _filled(client, auth, 1)
    other = {"api_token": new_token(runtime, "globex")}
    base = f"{API}/datasets/{d['id']}"
    answers = [
        await client.get(base, headers=other),
        await client.put(base, json={"name": "x"}, headers=other),
        await client.post(f"{base}/clone", headers=other),
        await client.delete(base, headers=other),
        await client.put(f"{base}/images", headers=other),
        await client.get(f"{API}/projects/{d['project_id']}/datasets", headers=other),
        await client.post(
            f"{API}/datasets", json={"project_id": d["project_id"], "name": "x"}, headers=other
        ),
    ]
    assert [r.status_code for r in answers] == [404] * len(answers)
    assert (await client.get(f"{API}/datasets", headers=other)).json() == []
    assert (await client.get(base, headers=auth)).json()["images_count"] == 1


async def test_auth_required(client: httpx.AsyncClient) -> None:
    for headers in ({}, {"api_token": "tlr_unknown"}):
        assert (await client.get(f"{API}/datasets", headers=headers)).status_code == 401
        assert (await client.get(f"{API}/datasets/1", headers=headers)).status_code == 401


async def test_captions_end_to_end(client: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime) -> None:
    """Upload to a dataset with a schema, regenerate all: the caption jobs (offline VLM) fill them in."""
    from tailor.worker.run import run_pending

    d = await make_dataset(client, auth)
    await client.put(f"{API}/datasets/{d['id']}", json={"visual_schema": SCHEMA}, headers=auth)
    assert (await upload(client, auth, d["id"], image_bytes())).json()["caption_source"] == "pending"
    assert (await client.put(f"{API}/datasets/{d['id']}/images", headers=auth)).status_code == 202
    run_pending(runtime.queue, runtime.job_context())
    body = (await client.get(f"{API}/datasets/{d['id']}", headers=auth)).json()
    assert body["captions_update_status"] == "completed"
    assert [i["caption_source"] for i in body["images"]] == ["automatic"]
    assert body["images"][0]["caption"].startswith("{")
