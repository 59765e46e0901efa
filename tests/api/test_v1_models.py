"""``/v1/tailored-gen/models``: lifecycle, validation and status codes (no training runs here)."""

from __future__ import annotations

import httpx
import pytest

from tailor.bootstrap import Runtime
from tailor.domain.jobs import Failure, FailureKind
from tailor.store.db import session_scope
from tailor.store.tables import Job, Project
from tests.conftest import new_token
from tests.engine.training.helpers import SCHEMA, seed_dataset

BASE = "/v1/tailored-gen"


async def _create(client: httpx.AsyncClient, auth: dict, dataset_id: int, **extra: object) -> dict:
    r = await client.post(
        f"{BASE}/models", json={"name": "Reds", "dataset_id": dataset_id, **extra}, headers=auth
    )
    assert r.status_code == 201, r.text
    return r.json()


async def test_create_get_update_list(
    client: httpx.AsyncClient, auth: dict, runtime: Runtime, token: str
) -> None:
    seeded = seed_dataset(runtime, token)
    body = await _create(client, auth, seeded.dataset_id, description="red things")
    assert body["status"] == "Created"
    assert body["training_mode"] == "fully_automated"
    assert body["project_id"] == seeded.project_id and body["dataset_id"] == seeded.dataset_id
    assert body["active_model_version"] == "default"
    assert body["training_parameters"] == {} and body["checkpoint_steps"] == []
    assert body["description"] == "red things" and body["training_version"] == "fibo"

    mid = body["id"]
    r = await client.get(f"{BASE}/models/{mid}", headers=auth)
    assert r.status_code == 200 and r.json()["name"] == "Reds"

    r = await client.put(f"{BASE}/models/{mid}", json={"name": "Crimson", "description": "d2"}, headers=auth)
    assert r.status_code == 200 and r.json()["name"] == "Crimson" and r.json()["description"] == "d2"

    r = await client.get(f"{BASE}/models", headers=auth)
    assert [m["id"] for m in r.json()] == [mid]
    assert "training_parameters" not in r.json()[0]
    r = await client.get(f"{BASE}/models", params={"include_training_parameters": "true"}, headers=auth)
    assert r.json()[0]["training_parameters"] == {} and r.json()[0]["checkpoint_steps"] == []

    r = await client.get(f"{BASE}/projects/{seeded.project_id}/models", headers=auth)
    assert r.status_code == 200 and [m["id"] for m in r.json()] == [mid]
    r = await client.get(f"{BASE}/projects/999999/models", headers=auth)
    assert r.status_code == 404


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"dataset_id": 1}, "name", 400),
        ({"name": "", "dataset_id": 1}, "name", 400),
        ({"name": "x"}, "dataset_id", 400),
        ({"name": "x", "dataset_id": "abc"}, "dataset_id", 400),
        ({"name": "x", "dataset_id": 1, "training_mode": "turbo"}, "training_mode", 400),
    ],
)
async def test_create_rejects_bad_bodies(
    client: httpx.AsyncClient, auth: dict, body: dict, field: str, code: int
) -> None:
    r = await client.post(f"{BASE}/models", json=body, headers=auth)
    assert r.status_code == code
    assert field in r.json()["error"]["message"]


async def test_unknown_and_foreign_resources_are_404(
    client: httpx.AsyncClient, auth: dict, runtime: Runtime, token: str
) -> None:
    r = await client.post(f"{BASE}/models", json={"name": "x", "dataset_id": 424242}, headers=auth)
    assert r.status_code == 404
    seeded = seed_dataset(runtime, token)
    mid = (await _create(client, auth, seeded.dataset_id))["id"]
    other = {"api_token": new_token(runtime, "other-org")}
    for method, path in [
        ("GET", f"{BASE}/models/{mid}"),
        ("PUT", f"{BASE}/models/{mid}"),
        ("DELETE", f"{BASE}/models/{mid}"),
        ("POST", f"{BASE}/models/{mid}/start_training"),
        ("POST", f"{BASE}/models/{mid}/stop_training"),
        ("GET", f"{BASE}/models/{mid}/checkpoints"),
        ("GET", f"{BASE}/models/{mid}/download"),
    ]:
        r = await client.request(method, path, headers=other, json={} if method in ("PUT", "POST") else None)
        assert r.status_code == 404, (method, path, r.text)
    r = await client.post(
        f"{BASE}/models", json={"name": "x", "dataset_id": seeded.dataset_id}, headers=other
    )
    assert r.status_code == 404
    assert (await client.get(f"{BASE}/models", headers=other)).json() == []


async def test_start_needs_a_completed_captioned_dataset(
    client: httpx.AsyncClient, auth: dict, runtime: Runtime, token: str
) -> None:
    draft = seed_dataset(runtime, token, status="draft")
    mid = (await _create(client, auth, draft.dataset_id))["id"]
    r = await client.post(f"{BASE}/models/{mid}/start_training", headers=auth)
    assert r.status_code == 412 and "completed" in r.json()["error"]["message"]

    uncaptioned = seed_dataset(runtime, token, captioned=False)
    mid = (await _create(client, auth, uncaptioned.dataset_id))["id"]
    r = await client.post(f"{BASE}/models/{mid}/start_training", headers=auth)
    assert r.status_code == 412 and "caption" in r.json()["error"]["message"]
    assert (await client.get(f"{BASE}/models/{mid}", headers=auth)).json()["status"] == "Created"


async def test_fully_automated_start_chooses_and_records_a_recipe(
    client: httpx.AsyncClient, auth: dict, runtime: Runtime, token: str
) -> None:
    seeded = seed_dataset(runtime, token, ip_type="defined_character", ip_medium="photography")
    mid = (await _create(client, auth, seeded.dataset_id))["id"]
    r = await client.post(f"{BASE}/models/{mid}/start_training", json={"rank": 8}, headers=auth)
    assert r.status_code == 400 and "expert" in r.json()["error"]["message"]

    r = await client.post(f"{BASE}/models/{mid}/start_training", headers=auth)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "InProgress"
    params = body["training_parameters"]
    assert set(params) == {
        "learning_rate",
        "lr_scheduler",
        "rank",
        "total_training_steps",
        "checkpoint_interval",
        "lr_warmup_steps",
    }
    assert params["rank"] == 128 and params["learning_rate"] == pytest.approx(8e-5)
    assert 500 <= params["total_training_steps"] <= 3000 and params["checkpoint_interval"] >= 100
    assert body["training_progress"]["step"] == 0
    assert body["training_progress"]["total_steps"] == params["total_training_steps"]

    with session_scope(runtime.sessions) as s:
        assert s.get(Project, seeded.project_id).training_version == "fibo"
        jobs = [j for j in s.query(Job).all() if j.kind == "train_model"]
        assert [j.payload for j in jobs] == [{"model_id": mid}]
        from tailor.store.tables import TailoredModel

        assert s.get(TailoredModel, mid).visual_schema == SCHEMA

    r = await client.post(f"{BASE}/models/{mid}/start_training", headers=auth)
    assert r.status_code == 409
    r = await client.delete(f"{BASE}/models/{mid}", headers=auth)
    assert r.status_code == 409


async def test_expert_defaults_and_explicit_values(
    client: httpx.AsyncClient, auth: dict, runtime: Runtime, token: str
) -> None:
    seeded = seed_dataset(runtime, token)
    mid = (await _create(client, auth, seeded.dataset_id, training_mode="expert"))["id"]
    r = await client.post(f"{BASE}/models/{mid}/start_training", json={}, headers=auth)
    assert r.status_code == 200, r.text
    assert r.json()["training_parameters"] == {
        "learning_rate": 1e-4,
        "lr_scheduler": "constant_with_warmup",
        "rank": 128,
        "total_training_steps": 750,
        "checkpoint_interval": 500,
        "lr_warmup_steps": 100,
    }
    mid = (await _create(client, auth, seeded.dataset_id, training_mode="expert"))["id"]
    body = {
        "lr_scheduler": "cosine",
        "learning_rate": 0.0005,
        "total_training_steps": 1200,
        "rank": 16,
        "checkpoint_interval": 300,
        "lr_warmup_steps": 50,
    }
    r = await client.post(f"{BASE}/models/{mid}/start_training", json=body, headers=auth)
    assert r.status_code == 200, r.text
    # warmup applies only to constant_with_warmup, and is shown as null otherwise
    assert r.json()["training_parameters"] == {**body, "lr_warmup_steps": None}
    r = await client.get(f"{BASE}/models", params={"include_training_parameters": True}, headers=auth)
    assert {m["id"]: m["training_parameters"]["rank"] for m in r.json()}[mid] == 16


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("lr_scheduler", "exponential"),
        ("lr_scheduler", 3),
        ("learning_rate", 0.0),
        ("learning_rate", 5e-7),
        ("learning_rate", 0.002),
        ("learning_rate", "fast"),
        ("total_training_steps", 0),
        ("total_training_steps", 5001),
        ("total_training_steps", 10.5),
        ("rank", 3),
        ("rank", 257),
        ("rank", True),
        ("checkpoint_interval", 99),
        ("checkpoint_interval", -1),
        ("lr_warmup_steps", -1),
        ("lr_warmup_steps", 1001),
        ("batch_size", 4),
    ],
)
async def test_every_invalid_expert_parameter_is_a_400_naming_it(
    client: httpx.AsyncClient, auth: dict, runtime: Runtime, token: str, field: str, value: object
) -> None:
    seeded = seed_dataset(runtime, token, n=5)
    mid = (await _create(client, auth, seeded.dataset_id, training_mode="expert"))["id"]
    r = await client.post(f"{BASE}/models/{mid}/start_training", json={field: value}, headers=auth)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["message"].startswith(field)
    assert (await client.get(f"{BASE}/models/{mid}", headers=auth)).json()["status"] == "Created"


async def test_start_body_must_be_an_object(
    client: httpx.AsyncClient, auth: dict, runtime: Runtime, token: str
) -> None:
    seeded = seed_dataset(runtime, token)
    mid = (await _create(client, auth, seeded.dataset_id, training_mode="expert"))["id"]
    r = await client.post(f"{BASE}/models/{mid}/start_training", json=[1, 2], headers=auth)
    assert r.status_code == 400


async def test_stop_training_before_the_job_runs(
    client: httpx.AsyncClient, auth: dict, runtime: Runtime, token: str
) -> None:
    seeded = seed_dataset(runtime, token)
    mid = (await _create(client, auth, seeded.dataset_id))["id"]
    r = await client.post(f"{BASE}/models/{mid}/stop_training", headers=auth)
    assert r.status_code == 409  # not training
    assert (await client.post(f"{BASE}/models/{mid}/start_training", headers=auth)).status_code == 200
    r = await client.post(f"{BASE}/models/{mid}/stop_training", headers=auth)
    assert r.status_code == 200 and r.json()["status"] == "Stopped"  # the queued job was cancelled
    with session_scope(runtime.sessions) as s:
        assert [j.state for j in s.query(Job).all() if j.kind == "train_model"] == ["cancelled"]
    assert (await client.post(f"{BASE}/models/{mid}/stop_training", headers=auth)).status_code == 409
    assert (await client.post(f"{BASE}/models/{mid}/start_training", headers=auth)).status_code == 409
    assert (await client.delete(f"{BASE}/models/{mid}", headers=auth)).status_code == 204


async def test_stop_running_training_goes_through_stopping(
    client: httpx.AsyncClient, auth: dict, runtime: Runtime, token: str
) -> None:
    seeded = seed_dataset(runtime, token)
    mid = (await _create(client, auth, seeded.dataset_id))["id"]
    assert (await client.post(f"{BASE}/models/{mid}/start_training", headers=auth)).status_code == 200
    job = runtime.queue.claim("test-worker", kinds=["train_model"])  # a worker took it
    assert job is not None
    r = await client.post(f"{BASE}/models/{mid}/stop_training", headers=auth)
    assert r.status_code == 200 and r.json()["status"] == "Stopping"
    assert runtime.queue.heartbeat(job.id, "test-worker") is False  # the worker learns of it
    assert (await client.delete(f"{BASE}/models/{mid}", headers=auth)).status_code == 409
    runtime.queue.fail(job.id, "test-worker", Failure(FailureKind.cancelled, 409, "cancelled"))
    r = await client.get(f"{BASE}/models/{mid}", headers=auth)
    assert r.json()["status"] == "Stopped"


async def test_checkpoints_and_download_before_training(
    client: httpx.AsyncClient, auth: dict, runtime: Runtime, token: str
) -> None:
    seeded = seed_dataset(runtime, token)
    mid = (await _create(client, auth, seeded.dataset_id))["id"]
    r = await client.get(f"{BASE}/models/{mid}/checkpoints", headers=auth)
    assert r.status_code == 200 and r.json() == {"checkpoints": [], "active_model_version": "default"}
    assert (await client.get(f"{BASE}/models/{mid}/checkpoints/100", headers=auth)).status_code == 404
    assert (await client.delete(f"{BASE}/models/{mid}/checkpoints/100", headers=auth)).status_code == 404
    r = await client.get(f"{BASE}/models/{mid}/download", headers=auth)
    assert r.status_code == 400 and "Completed" in r.json()["error"]["message"]
    r = await client.put(f"{BASE}/models/{mid}", json={"active_model_version": "100"}, headers=auth)
    assert r.status_code == 409


async def test_delete(client: httpx.AsyncClient, auth: dict, runtime: Runtime, token: str) -> None:
    seeded = seed_dataset(runtime, token)
    mid = (await _create(client, auth, seeded.dataset_id))["id"]
    assert (await client.delete(f"{BASE}/models/{mid}", headers=auth)).status_code == 204
    assert (await client.get(f"{BASE}/models/{mid}", headers=auth)).status_code == 404
    assert (await client.delete(f"{BASE}/models/{mid}", headers=auth)).status_code == 404


async def test_a_training_job_that_fails_for_good_fails_the_model(
    client: httpx.AsyncClient, auth: dict, runtime: Runtime, token: str
) -> None:
    seeded = seed_dataset(runtime, token)
    mid = (await _create(client, auth, seeded.dataset_id))["id"]
    assert (await client.post(f"{BASE}/models/{mid}/start_training", headers=auth)).status_code == 200
    job = runtime.queue.claim("test-worker", kinds=["train_model"])
    assert job is not None
    runtime.queue.fail(job.id, "test-worker", Failure(FailureKind.permanent, 500, "CUDA out of memory"))
    body = (await client.get(f"{BASE}/models/{mid}", headers=auth)).json()
    assert body["status"] == "Failed" and "out of memory" in body["error"]
    assert (await client.post(f"{BASE}/models/{mid}/stop_training", headers=auth)).status_code == 409
    assert (await client.delete(f"{BASE}/models/{mid}", headers=auth)).status_code == 204


async def test_openapi_documents_the_training_parameters(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    op = spec["paths"]["/v1/tailored-gen/models/{model_id}/start_training"]["post"]
    props = op["requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert props["rank"]["minimum"] == 4 and props["rank"]["maximum"] == 256
    assert props["total_training_steps"]["maximum"] == 5000
    assert "constant_with_warmup" in props["lr_scheduler"]["enum"]
