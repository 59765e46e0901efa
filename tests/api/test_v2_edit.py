"""Contract of ``/v2/image/edit`` and ``/v2/image/edit/tailored``: every field and its errors, masks,
multi-image references, foreign or unfinished models, bad images; what a valid edit queues. The
edits themselves run in ``tests/e2e/test_fibo2_flow.py``."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from tailor.bootstrap import Runtime
from tailor.store.tables import Job
from tests.conftest import new_token
from tests.engine.api_helpers import add_model
from tests.engine.training.helpers import png

FAKE_ADAPTER = b"not used: requests are refused or only queued"
IMG = base64.b64encode(png((200, 30, 30))).decode()
MASK = base64.b64encode(png((255, 255, 255))).decode()


@pytest.fixture
def db_url(tmp_path: Path) -> Iterator[str]:
    yield f"sqlite:///{tmp_path / 'tailor.db'}"  # nothing here depends on the database


async def _jobs(runtime: Runtime) -> list[Job]:
    with runtime.sessions() as s:
        return list(s.scalars(select(Job)))


async def _count(runtime: Runtime) -> int:
    with runtime.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(Job)) or 0)


BASE_BAD: list[tuple[dict[str, Any], int, str]] = [
    ({"images": [IMG], "mask": "####"}, 400, "mask"),  # the image was stored first: removed again
    ({"images": None}, 400, "images"),
    ({"images": []}, 400, "images"),
    ({"images": [IMG, IMG]}, 400, "images"),
    ({"images": [""]}, 400, "images"),
    ({"images": ["not base64!"]}, 400, "images.0"),
    ({"images": [base64.b64encode(b"plain text").decode()]}, 415, "images.0"),
    ({"images": ["ftp://example.com/a.png"]}, 400, "images.0"),
    ({"instruction": None}, 400, "instruction"),
    ({"structured_instruction": '{"edit_instruction": "x"}'}, 400, "instruction"),
    ({"instruction": None, "structured_instruction": "not json"}, 400, "structured_instruction"),
    ({"instruction": None, "structured_instruction": "[1]"}, 400, "structured_instruction"),
    (
        {"instruction": None, "structured_instruction": '{"short_description": "x"}'},
        400,
        "structured_instruction",
    ),
    (
        {"instruction": None, "structured_instruction": '{"edit_instruction": "x", "structured_caption": 1}'},
        400,
        "structured_instruction",
    ),
    ({"instruction": "put <image_2> here"}, 400, "instruction"),
    ({"mask": "####"}, 400, "mask"),
    ({"steps_num": 9}, 400, "steps_num"),
    ({"steps_num": 51}, 400, "steps_num"),
    ({"guidance_scale": 0.5}, 400, "guidance_scale"),
    ({"guidance_scale": 6}, 400, "guidance_scale"),
    ({"seed": -1}, 400, "seed"),
    ({"sync": "maybe"}, 400, "sync"),
    ({"webhook_url": "ftp://example.com/x"}, 400, "webhook_url"),
    ({"instruction": "x" * 10_001}, 400, "instruction"),
]


async def test_bad_edit_parameters(client: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime) -> None:
    """Each case in one app (building one per case would cost more than the cases)."""
    for change, status, field in BASE_BAD:
        body: dict[str, Any] = {"images": [IMG], "instruction": "make it blue"}
        body.update(change)
        body = {k: v for k, v in body.items() if v is not None}
        r = await client.post("/v2/image/edit", json=body, headers=auth)
        assert r.status_code == status, (change, r.text)
        assert field in r.json()["error"]["message"], (change, r.text)
        assert await _count(runtime) == 0
        assert not list(runtime.blobs.list("requests/"))  # nothing half-written


async def test_a_valid_edit_queues_its_images_in_order_with_fibo2_defaults(
    client: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime
) -> None:
    body = {
        "images": [IMG],
        "instruction": "make it blue",
        "mask": MASK,
        "seed": 7,
        "negative_prompt": "blur",
    }
    r = await client.post("/v2/image/edit", json=body, headers=auth)
    assert r.status_code == 202, r.text
    (job,) = await _jobs(runtime)
    p = job.payload
    assert job.kind == "edit_image"
    assert (p["family"], p["steps_num"], p["guidance_scale"], p["seed"]) == ("fibo-2", 30, 5.0, 7)
    assert json.loads(p["instruction"]) == {"edit_instruction": "make it blue"}
    assert runtime.blobs.get(p["images"][0]) == base64.b64decode(IMG)
    assert runtime.blobs.get(p["mask"]) == base64.b64decode(MASK)
    assert p["model_id"] is None and p["negative_prompt"] == "blur"


async def test_turbo_weights_default_to_four_steps_without_guidance(
    client: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime
) -> None:
    runtime.settings.fibo2_turbo = "tiny"
    r = await client.post("/v2/image/edit", json={"images": [IMG], "instruction": "x"}, headers=auth)
    assert r.status_code == 202, r.text
    (job,) = await _jobs(runtime)
    assert (job.payload["steps_num"], job.payload["guidance_scale"]) == (4, 1.0)
    r = await client.post(
        "/v2/image/edit", json={"images": [IMG], "instruction": "x", "steps_num": 9}, headers=auth
    )
    assert r.status_code == 400 and "steps_num" in r.json()["error"]["message"]


async def test_tailored_edit_takes_up_to_five_referenced_images(
    client: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime, token: str
) -> None:
    model_id = add_model(runtime, token, FAKE_ADAPTER, training_version="fibo-2")
    runtime.settings.allow_private_urls = True  # no network here: a URL on this host
    url = "http://127.0.0.1:9/mascot.png"
    body = {
        "tailored_model_id": str(model_id),
        "images": [IMG, url, IMG],
        "instruction": "put <image_2> next to <image_3> in <image_1>",
        "tailored_model_influence": 0.8,
    }
    r = await client.post("/v2/image/edit/tailored", json=body, headers=auth)
    assert r.status_code == 202, r.text
    (job,) = await _jobs(runtime)
    p = job.payload
    assert p["model_id"] == model_id and p["influence"] == 0.8 and p["family"] == "fibo-2"
    assert (
        p["images"][1] == url
        and p["images"][0].startswith("requests/")
        and p["images"][2].startswith("requests/")
    )

    for change, status, field in [
        ({"images": [IMG] * 6}, 400, "images"),
        ({"mask": MASK}, 400, "mask"),
        ({"instruction": "put <image_4> in <image_1>"}, 400, "instruction"),
        ({"tailored_model_influence": 1.6}, 400, "tailored_model_influence"),
        ({"tailored_model_id": "abc"}, 400, "tailored_model_id"),
    ]:
        r = await client.post("/v2/image/edit/tailored", json={**body, **change}, headers=auth)
        assert r.status_code == status, (change, r.text)
        assert field in r.json()["error"]["message"], r.text
    assert len(await _jobs(runtime)) == 1


@pytest.mark.parametrize(
    ("model_kw", "status"),
    [
        ({"status": "InProgress", "training_version": "fibo-2"}, 412),
        ({"status": "Failed", "training_version": "fibo-2"}, 412),
        ({"training_version": "fibo"}, 412),  # FIBO models do not edit
        ({"training_version": None}, 412),
    ],
)
async def test_models_that_cannot_edit_are_refused(
    client: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime, token: str, model_kw: dict, status: int
) -> None:
    model_id = add_model(runtime, token, FAKE_ADAPTER, **model_kw)
    body = {"tailored_model_id": str(model_id), "images": [IMG], "instruction": "x"}
    r = await client.post("/v2/image/edit/tailored", json=body, headers=auth)
    assert r.status_code == status, r.text
    assert "tailored_model_id" in r.json()["error"]["message"]
    assert await _count(runtime) == 0


async def test_foreign_unknown_and_unauthenticated(
    client: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime
) -> None:
    other = add_model(runtime, new_token(runtime, "other-org"), FAKE_ADAPTER, training_version="fibo-2")
    for model_id in (other, 999_999):
        body = {"tailored_model_id": str(model_id), "images": [IMG], "instruction": "x"}
        r = await client.post("/v2/image/edit/tailored", json=body, headers=auth)
        assert r.status_code == 404, r.text
    r = await client.post("/v2/image/edit", json={"images": [IMG], "instruction": "x"})
    assert r.status_code == 401
    assert await _count(runtime) == 0


async def test_fibo2_models_take_fibo2_ranges_and_fibo_keeps_its_own(
    client: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime, token: str
) -> None:
    f2 = add_model(runtime, token, FAKE_ADAPTER, training_version="fibo-2")
    r = await client.post(
        "/v2/image/generate/tailored",
        json={
            "tailored_model_id": str(f2),
            "prompt": "y",
            "steps_num": 12,
            "guidance_scale": 1.5,
        },
        headers=auth,
    )
    assert r.status_code == 202, r.text
    (job,) = await _jobs(runtime)
    assert (job.payload["steps_num"], job.payload["guidance_scale"]) == (12, 1.5)
    fibo = add_model(runtime, new_token(runtime, "acme"), FAKE_ADAPTER)
    r = await client.post(
        "/v2/image/generate/tailored",
        json={"tailored_model_id": str(fibo), "prompt": "y", "steps_num": 12},
        headers=auth,
    )
    assert r.status_code == 400 and "between 20 and 50" in r.json()["error"]["message"], r.text
