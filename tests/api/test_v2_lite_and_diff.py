"""``/v2/image/generate/lite``, ``/v2/structured_prompt/generate/lite`` (the same engine, fewer
steps) and ``/v2/structured_prompt/generate_from_diff`` (the user's edits kept)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from tailor.bootstrap import Runtime
from tailor.bridge.prompt_diff import MISSING, apply, changes, render_path
from tailor.config import Settings
from tailor.store.tables import Job
from tests.conftest import make_settings
from tests.engine.api_helpers import SP, fetch_image, tiny_dir_for


@pytest.fixture
def settings(tmp_path: Path, db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    tiny = tiny_dir_for(tmp_path_factory.getbasetemp())
    return make_settings(tmp_path / "home", db_url, base_model=str(tiny), device="cpu", lite_steps_num=2)


async def test_lite_image_and_structured_prompt(
    client: httpx.AsyncClient, auth: dict, runtime: Runtime, worker: object
) -> None:
    body = {"structured_prompt": SP, "seed": 3, "sync": True, "aspect_ratio": "3:4", "output_type": "jpeg"}
    r = await client.post("/v2/image/generate/lite", json=body, headers=auth)
    assert r.status_code == 200, r.text
    out = r.json()
    assert set(out["result"]) >= {"image_url", "seed", "structured_prompt"} and out["request_id"]
    assert out["result"]["seed"] == 3
    assert (await fetch_image(client, out["result"]["image_url"]))[:2] == b"\xff\xd8"
    with runtime.sessions() as s:
        job = s.scalars(select(Job).where(Job.kind == "generate_image")).one()
    assert job.payload["steps_num"] == 2  # TAILOR_LITE_STEPS_NUM

    r = await client.post(
        "/v2/structured_prompt/generate/lite",
        json={"prompt": "a kite", "seed": 4, "sync": True},
        headers=auth,
    )
    assert r.status_code == 200, r.text
    assert r.json()["result"]["seed"] == 4
    assert json.loads(r.json()["result"]["structured_prompt"])["short_description"]


@pytest.mark.parametrize(
    ("path", "body", "named"),
    [
        ("/v2/image/generate/lite", {}, "prompt"),
        ("/v2/image/generate/lite", {"prompt": "x", "resolution": "4MP"}, "resolution"),
        ("/v2/image/generate/lite", {"prompt": "x", "aspect_ratio": "7:1"}, "aspect_ratio"),
        ("/v2/image/generate/lite", {"prompt": "x", "images": ["a", "b"]}, "images"),
        ("/v2/structured_prompt/generate/lite", {}, "prompt"),
        (
            "/v2/structured_prompt/generate_from_diff",
            {"structured_prompt": SP},
            "user_adjusted_structured_prompt",
        ),
        (
            "/v2/structured_prompt/generate_from_diff",
            {"structured_prompt": SP, "user_adjusted_structured_prompt": "{not json"},
            "user_adjusted_structured_prompt",
        ),
        (
            "/v2/structured_prompt/generate_from_diff",
            {"structured_prompt": "[]", "user_adjusted_structured_prompt": SP},
            "structured_prompt",
        ),
    ],
)
async def test_bad_bodies_name_the_field(
    client: httpx.AsyncClient, auth: dict, path: str, body: dict, named: str
) -> None:
    r = await client.post(path, json=body, headers=auth)
    assert r.status_code == 400, r.text
    assert named in r.json()["error"]["message"]


async def test_generate_from_diff_keeps_every_edit(
    client: httpx.AsyncClient, auth: dict, runtime: Runtime, worker: object
) -> None:
    edited = json.loads(SP)
    edited["lighting"]["conditions"] = "moonlight"
    edited["objects"][0]["description"] = "a blue house"
    edited["aesthetics"]["mood_atmosphere"] = "eerie"
    body = {
        "structured_prompt": SP,
        "user_adjusted_structured_prompt": json.dumps(edited),
        "seed": 9,
        "sync": True,
    }
    r = await client.post("/v2/structured_prompt/generate_from_diff", json=body, headers=auth)
    assert r.status_code == 200, r.text
    result = json.loads(r.json()["result"]["structured_prompt"])
    assert r.json()["result"]["seed"] == 9
    assert result["lighting"]["conditions"] == "moonlight"
    assert result["objects"][0]["description"] == "a blue house"
    assert result["aesthetics"]["mood_atmosphere"] == "eerie"

    r = await client.post(
        "/v2/structured_prompt/generate_from_diff",
        json={"structured_prompt": SP, "user_adjusted_structured_prompt": SP},
        headers=auth,
    )
    assert r.status_code == 202 and r.json()["status_url"]


def test_changes_and_apply() -> None:
    old = {"a": {"b": 1, "c": [1, 2]}, "o": [{"x": 1}, {"x": 2}], "gone": 1}
    new = {"a": {"b": 2, "c": [1, 2, 3]}, "o": [{"x": 1}, {"x": 3}], "added": "y"}
    diff = changes(old, new)
    assert [render_path(p) for p, _, _ in diff] == ["a.b", "a.c", "o[1].x", "gone", "added"]
    assert diff[3][2] is MISSING
    assert apply(json.loads(json.dumps(old)), diff) == new
