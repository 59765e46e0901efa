"""The whole journey through the HTTP API on the tiny model: project -> dataset -> visual schema ->
uploads (upscaled from 256 px) -> automatic captions -> completed -> model -> training -> Completed
-> tailored generation. Background jobs run in this process (``run_pending``)."""

from __future__ import annotations

import base64

import httpx
import pytest

from tailor.bootstrap import Runtime
from tailor.worker.run import run_pending
from tests.engine.training.helpers import png

V1 = "/v1/tailored-gen"

pytestmark = pytest.mark.slow


def b64_png(i: int) -> str:
    return base64.b64encode(png((190 + 10 * (i % 6), 25 + 5 * i, 30), size=256)).decode()


async def test_from_project_to_tailored_generation(
    client: httpx.AsyncClient, auth: dict, runtime: Runtime
) -> None:
    r = await client.post(
        f"{V1}/projects",
        json={"project_name": "Reds", "ip_medium": "illustration", "ip_type": "stylized_scene"},
        headers=auth,
    )
    assert r.status_code == 201, r.text
    project_id = r.json()["id"]
    r = await client.post(f"{V1}/datasets", json={"project_id": project_id, "name": "reds"}, headers=auth)
    assert r.status_code == 201, r.text
    dataset_id = r.json()["id"]

    r = await client.post(
        f"{V1}/generate_visual_schema", json={"images": [b64_png(i) for i in range(5)]}, headers=auth
    )
    assert r.status_code == 200, r.text
    schema = r.json()["visual_schema"]
    r = await client.put(f"{V1}/datasets/{dataset_id}", json={"visual_schema": schema}, headers=auth)
    assert r.status_code == 200, r.text

    for i in range(6):
        r = await client.post(
            f"{V1}/datasets/{dataset_id}/images",
            json={"file": b64_png(i), "increase_resolution": True, "image_name": f"red{i}.png"},
            headers=auth,
        )
        assert r.status_code == 201, r.text
    run_pending(runtime.queue, runtime.job_context())  # captions
    images = (await client.get(f"{V1}/datasets/{dataset_id}/images", headers=auth)).json()
    assert len(images) == 6 and all(img["caption"] for img in images), images
    r = await client.put(f"{V1}/datasets/{dataset_id}", json={"status": "completed"}, headers=auth)
    assert r.status_code == 200, r.text

    r = await client.post(f"{V1}/models", json={"name": "Reds", "dataset_id": dataset_id}, headers=auth)
    assert r.status_code == 201, r.text
    model_id = r.json()["id"]
    r = await client.post(f"{V1}/models/{model_id}/start_training", headers=auth)
    assert r.status_code == 200 and r.json()["status"] == "InProgress", r.text
    project = (await client.get(f"{V1}/projects/{project_id}", headers=auth)).json()
    assert project["training_version"] == "fibo"
    run_pending(runtime.queue, runtime.job_context())  # training
    model = (await client.get(f"{V1}/models/{model_id}", headers=auth)).json()
    assert model["status"] == "Completed", model
    assert model["active_model_version"] == "8"

    r = await client.post(
        "/v2/image/generate/tailored",
        json={"tailored_model_id": str(model_id), "prompt": "a red square", "seed": 3},
        headers=auth,
    )
    assert r.status_code == 202, r.text
    request_id = r.json()["request_id"]
    run_pending(runtime.queue, runtime.job_context())  # structured prompt + image
    status = (await client.get(f"/v2/status/{request_id}", headers=auth)).json()
    assert status["status"] == "COMPLETED", status
    image = await client.get(status["result"]["image_url"].removeprefix("http://tailor.test"))
    assert image.status_code == 200 and image.content[:8] == b"\x89PNG\r\n\x1a\n"
