"""A Stopped model's checkpoints (download, complete from one), generation at a chosen checkpoint,
and the per-project generation history, on the tiny model through a real worker."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest

from tailor.bootstrap import Runtime
from tailor.config import Settings
from tests.conftest import make_settings, new_token
from tests.engine.api_helpers import SP, adapter_bytes, add_checkpoints, add_model, fetch_image, tiny_dir_for

BASE = "/v1/tailored-gen"


@pytest.fixture
def settings(tmp_path: Path, db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    tiny = tiny_dir_for(tmp_path_factory.getbasetemp())
    return make_settings(tmp_path / "home", db_url, base_model=str(tiny), device="cpu", max_steps=3)


def tailored(model_id: int, **kw: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "tailored_model_id": str(model_id),
        "structured_prompt": SP,
        "seed": 7,
        "sync": True,
    }
    body.update(kw)
    return body


async def generate(client: httpx.AsyncClient, auth: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    r = await client.post("/v2/image/generate/tailored", json=body, headers=auth)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_a_stopped_model_downloads_and_completes_from_its_checkpoints(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    runtime: Runtime,
    token: str,
    settings: Settings,
    worker: object,
) -> None:
    tiny = Path(settings.base_model)
    empty = add_model(runtime, token, None, status="Stopped")
    for call in (
        client.post(f"{BASE}/models/{empty}/complete_from_checkpoint", headers=auth),
        client.get(f"{BASE}/models/{empty}/download", headers=auth),
    ):
        r = await call
        assert r.status_code == 412, r.text
        assert "stopped before it saved a checkpoint" in r.json()["error"]["message"]

    mid = add_model(runtime, token, None, status="Stopped")
    add_checkpoints(runtime, mid, {100: adapter_bytes(tiny, 1), 200: adapter_bytes(tiny, 2)})
    # downloads while Stopped: the latest checkpoint by default, or the one asked for
    r = await client.get(f"{BASE}/models/{mid}/download", headers=auth)
    assert r.status_code == 200, r.text
    assert r.json()["checkpoint_step"] == 200 and "-step200.zip" in r.json()["download_url"]
    r = await client.get(f"{BASE}/models/{mid}/download", params={"checkpoint_step": 100}, headers=auth)
    assert r.json()["checkpoint_step"] == 100
    archive = zipfile.ZipFile(io.BytesIO(await fetch_image(client, r.json()["download_url"])))
    assert "Checkpoint (step): 100" in next(
        archive.read(n).decode() for n in archive.namelist() if n.lower().endswith(".md")
    )
    r = await client.get(f"{BASE}/models/{mid}/download", params={"checkpoint_step": 150}, headers=auth)
    assert r.status_code == 400 and r.json()["error"]["message"].startswith("checkpoint_step: ")
    assert "available: 200, 100" in r.json()["error"]["message"]

    # still Stopped to every client until someone completes it; a Stopped model does not generate
    assert (await client.get(f"{BASE}/models/{mid}", headers=auth)).json()["status"] == "Stopped"
    r = await client.post("/v2/image/generate/tailored", json=tailored(mid), headers=auth)
    assert r.status_code == 412

    url = f"{BASE}/models/{mid}/complete_from_checkpoint"
    r = await client.post(url, json={"checkpoint_step": 150}, headers=auth)
    assert r.status_code == 400 and r.json()["error"]["message"].startswith("checkpoint_step: ")
    r = await client.post(url, json={"checkpoint_step": 100}, headers=auth)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "Completed" and r.json()["active_model_version"] == "100"
    assert (await client.post(url, headers=auth)).status_code == 409

    served = await generate(client, auth, tailored(mid))
    assert served["result"]["parameters"]["model_version"] == 100
    # another checkpoint for one request, without changing the served version
    other = await generate(client, auth, tailored(mid, checkpoint_step=200))
    assert other["result"]["parameters"]["model_version"] == 200
    assert await fetch_image(client, other["image_url"]) != await fetch_image(client, served["image_url"])
    again = await generate(client, auth, tailored(mid, checkpoint_step=100))
    assert await fetch_image(client, again["image_url"]) == await fetch_image(client, served["image_url"])
    assert (await client.get(f"{BASE}/models/{mid}", headers=auth)).json()["active_model_version"] == "100"
    r = await client.post(
        "/v2/image/generate/tailored", json=tailored(mid, checkpoint_step=300), headers=auth
    )
    assert r.status_code == 400 and r.json()["error"]["message"].startswith("checkpoint_step: ")


async def test_generation_history_per_project(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    runtime: Runtime,
    token: str,
    settings: Settings,
    worker: object,
) -> None:
    mid = add_model(runtime, token, adapter_bytes(Path(settings.base_model), 1))
    project = (await client.get(f"{BASE}/models/{mid}", headers=auth)).json()["project_id"]
    made = [
        await generate(client, auth, tailored(mid, seed=seed, tailored_model_influence=0.5 + seed / 10))
        for seed in (1, 2, 3)
    ]
    r = await client.get(f"{BASE}/projects/{project}/generations", params={"page_size": 2}, headers=auth)
    assert r.status_code == 200, r.text
    page1 = r.json()
    assert page1["total"] == 3 and page1["page"] == 1 and page1["page_size"] == 2
    assert [g["request_id"] for g in page1["generations"]] == [m["request_id"] for m in made[::-1][:2]]
    newest = page1["generations"][0]
    assert newest["seed"] == 3 and newest["model_id"] == mid and newest["model_status"] == "Completed"
    assert newest["parameters"] == made[2]["result"]["parameters"]
    assert newest["structured_prompt"] == made[2]["result"]["structured_prompt"]
    assert newest["model_version"] == "final" and newest["endpoint"] == "/v2/image/generate/tailored"
    assert newest["token_id"] is not None and newest["created_at"].endswith("Z")
    image = await fetch_image(client, newest["image_url"])
    assert image == await fetch_image(client, made[2]["image_url"])
    r = await client.get(
        f"{BASE}/projects/{project}/generations", params={"page": 2, "page_size": 2}, headers=auth
    )
    assert [g["request_id"] for g in r.json()["generations"]] == [made[0]["request_id"]]

    # an entry recreates its image exactly
    p = newest["parameters"]
    recreated = await generate(client, auth, tailored(
        mid, structured_prompt=newest["structured_prompt"], seed=newest["seed"],
        aspect_ratio=p["aspect_ratio"], steps_num=p["steps_num"], guidance_scale=p["guidance_scale"],
        tailored_model_influence=p["tailored_model_influence"],
    ))  # fmt: skip
    assert await fetch_image(client, recreated["image_url"]) == image

    for params in ({"page_size": 0}, {"page_size": 101}, {"page": 0}):
        r = await client.get(f"{BASE}/projects/{project}/generations", params=params, headers=auth)
        assert r.status_code == 400, params
        assert next(iter(params)) in r.json()["error"]["message"]

    # another organization sees none of it
    other = {"api_token": new_token(runtime, "other-org")}
    gid = newest["id"]
    assert (await client.get(f"{BASE}/projects/{project}/generations", headers=other)).status_code == 404
    assert (
        await client.get(f"{BASE}/projects/{project}/generations/{gid}", headers=other)
    ).status_code == 404
    assert (
        await client.delete(f"{BASE}/projects/{project}/generations/{gid}", headers=other)
    ).status_code == 404

    assert (await client.get(f"{BASE}/projects/{project}/generations/{gid}", headers=auth)).json()[
        "id"
    ] == gid
    assert (
        await client.delete(f"{BASE}/projects/{project}/generations/{gid}", headers=auth)
    ).status_code == 204
    assert (await client.get(newest["image_url"])).status_code == 404  # its image went with it
    assert (await client.get(f"{BASE}/projects/{project}/generations/{gid}", headers=auth)).status_code == 404
    listed = (await client.get(f"{BASE}/projects/{project}/generations", headers=auth)).json()
    assert listed["total"] == 3  # the recreation was recorded too

    # the history outlives its model
    assert (await client.delete(f"{BASE}/models/{mid}", headers=auth)).status_code == 204
    listed = (await client.get(f"{BASE}/projects/{project}/generations", headers=auth)).json()
    assert listed["total"] == 3 and {g["model_status"] for g in listed["generations"]} == {"Deleted"}
