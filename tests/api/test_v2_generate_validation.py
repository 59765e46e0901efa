"""Every bad parameter of the v2 image endpoints answers 400/404/412 naming the field; nothing is queued."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from tailor.bootstrap import Runtime
from tests.conftest import new_token
from tests.engine.api_helpers import SP, add_model

FAKE_ADAPTER = b"not used: requests are refused before any generation"

TAILORED_BAD: list[tuple[dict[str, Any], str]] = [
    ({"tailored_model_id": None}, "tailored_model_id"),
    ({"tailored_model_id": "abc"}, "tailored_model_id"),
    ({"tailored_model_influence": 1.6}, "tailored_model_influence"),
    ({"tailored_model_influence": -0.1}, "tailored_model_influence"),
    ({"guidance_scale": 2}, "guidance_scale"),
    ({"guidance_scale": 6}, "guidance_scale"),
    ({"steps_num": 19}, "steps_num"),
    ({"steps_num": 51}, "steps_num"),
    ({"steps_num": "many"}, "steps_num"),
    ({"aspect_ratio": "7:3"}, "aspect_ratio"),
    ({"seed": -1}, "seed"),
    ({"seed": 2**40}, "seed"),
    ({"sync": "maybe"}, "sync"),
    ({"structured_prompt": "not json"}, "structured_prompt"),
    ({"structured_prompt": '{"short_description": "only this"}'}, "structured_prompt"),
    ({"structured_prompt": None, "prompt": None}, "prompt"),
    ({"structured_prompt": "  ", "prompt": ""}, "prompt"),
    ({"webhook_url": "ftp://example.com/x"}, "webhook_url"),
    ({"prompt": "x" * 20_001}, "prompt"),
]


async def _jobs(runtime: Runtime) -> int:
    from tailor.store.tables import Job

    with runtime.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(Job)) or 0)


@pytest.mark.parametrize(("change", "field"), TAILORED_BAD)
async def test_bad_tailored_parameters(
    client: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime, token: str, change: dict, field: str
) -> None:
    model_id = add_model(runtime, token, FAKE_ADAPTER)
    body: dict[str, Any] = {"tailored_model_id": str(model_id), "structured_prompt": SP}
    body.update(change)
    body = {k: v for k, v in body.items() if v is not None}
    r = await client.post("/v2/image/generate/tailored", json=body, headers=auth)
    assert r.status_code == 400, r.text
    assert field in r.json()["error"]["message"]
    assert await _jobs(runtime) == 0


@pytest.mark.parametrize(
    ("model_kw", "status"),
    [
        ({"status": "InProgress"}, 412),
        ({"status": "Failed"}, 412),
        ({"status": "Created"}, 412),
        ({"training_version": "legacy"}, 412),
        ({"training_version": None}, 412),
    ],
)
async def test_unservable_models_are_refused(
    client: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime, token: str, model_kw: dict, status: int
) -> None:
    model_id = add_model(runtime, token, FAKE_ADAPTER, **model_kw)
    body = {"tailored_model_id": str(model_id), "structured_prompt": SP}
    r = await client.post("/v2/image/generate/tailored", json=body, headers=auth)
    assert r.status_code == status, r.text
    assert "tailored_model_id" in r.json()["error"]["message"]
    assert await _jobs(runtime) == 0


async def test_completed_model_without_adapter_is_refused(
    client: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime, token: str
) -> None:
    model_id = add_model(runtime, token, None)
    body = {"tailored_model_id": str(model_id), "structured_prompt": SP}
    r = await client.post("/v2/image/generate/tailored", json=body, headers=auth)
    assert r.status_code == 412, r.text


async def test_unknown_and_foreign_models_are_not_found(
    client: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime
) -> None:
    other = add_model(runtime, new_token(runtime, "other-org"), FAKE_ADAPTER)
    for model_id in (other, 999_999):
        body = {"tailored_model_id": model_id, "structured_prompt": SP}
        r = await client.post("/v2/image/generate/tailored", json=body, headers=auth)
        assert r.status_code == 404, r.text
    assert await _jobs(runtime) == 0


async def test_tailored_requires_a_token(client: httpx.AsyncClient) -> None:
    r = await client.post("/v2/image/generate/tailored", json={"tailored_model_id": "1", "prompt": "x"})
    assert r.status_code == 401


BASE_BAD: list[tuple[dict[str, Any], str]] = [
    ({"steps_num": 34}, "steps_num"),
    ({"steps_num": 51}, "steps_num"),
    ({"resolution": "4MP"}, "resolution"),
    ({"resolution": "8MP"}, "resolution"),
    ({"output_type": "gif"}, "output_type"),
    ({"model_version": "SD"}, "model_version"),
    ({"images": ["a", "b"]}, "images"),
    ({"images": ["aGVsbG8="], "structured_prompt": SP, "prompt": None}, "structured_prompt"),
    ({"prompt": None}, "prompt"),
    ({"guidance_scale": 5.5}, "guidance_scale"),
    ({"aspect_ratio": "1:2"}, "aspect_ratio"),
]


@pytest.mark.parametrize(("change", "field"), BASE_BAD)
async def test_bad_base_parameters(
    client: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime, change: dict, field: str
) -> None:
    body: dict[str, Any] = {"prompt": "a cat"}
    body.update(change)
    body = {k: v for k, v in body.items() if v is not None}
    r = await client.post("/v2/image/generate", json=body, headers=auth)
    assert r.status_code == 400, r.text
    assert field in r.json()["error"]["message"]
    assert await _jobs(runtime) == 0


async def test_defaults_are_recorded_in_the_job(
    client: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime, token: str, tmp_path: Path
) -> None:
    from tailor.store.tables import Job

    model_id = add_model(runtime, token, FAKE_ADAPTER)
    r = await client.post(
        "/v2/image/generate/tailored", json={"tailored_model_id": str(model_id), "prompt": "x"}, headers=auth
    )
    assert r.status_code == 202, r.text
    with runtime.sessions() as s:
        job = s.scalars(select(Job)).one()
    p = job.payload
    assert job.kind == "generate_image"
    assert (p["influence"], p["guidance_scale"], p["steps_num"], p["aspect_ratio"]) == (1.0, 5, 50, "1:1")
    assert isinstance(p["seed"], int) and 0 <= p["seed"] < 2**32
