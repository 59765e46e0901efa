"""Legacy ``POST /v1/text-to-image/tailored/{model_id}``: v1 fields, v1 answer, the caption prefix,
and a 400 naming each unsupported v1 option."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from tailor.bootstrap import Runtime
from tailor.config import Settings
from tailor.store.db import session_scope
from tailor.store.tables import Dataset, GenerationRequest, Job, TailoredModel
from tests.conftest import make_settings
from tests.engine.api_helpers import adapter_bytes, add_model, tiny_dir_for

PATH = "/v1/text-to-image/tailored/{}"


@pytest.fixture
def settings(tmp_path: Path, db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    tiny = tiny_dir_for(tmp_path_factory.getbasetemp())
    return make_settings(tmp_path / "home", db_url, base_model=str(tiny), device="cpu", max_steps=2)


def _model_with_prefix(runtime: Runtime, token: str, settings: Settings, prefix: str | None) -> int:
    model_id = add_model(runtime, token, adapter_bytes(Path(settings.base_model), 1))
    with session_scope(runtime.sessions) as s:
        model = s.get(TailoredModel, model_id)
        assert model is not None
        dataset = s.get(Dataset, model.dataset_id)
        assert dataset is not None
        dataset.caption_prefix = prefix
    return model_id


async def test_sync_by_default_with_v1_answer_and_the_caption_prefix(
    client: httpx.AsyncClient, auth: dict, runtime: Runtime, settings: Settings, token: str, worker: object
) -> None:
    model_id = _model_with_prefix(runtime, token, settings, "A watercolor of Lucy the fox,")
    body = {"prompt": "reading a book", "num_results": 2, "seed": 7, "aspect_ratio": "4:3"}
    r = await client.post(PATH.format(model_id), json=body, headers=auth)
    assert r.status_code == 200, r.text
    results = r.json()["result"]
    assert [x["seed"] for x in results] == [7, 8]
    for x in results:
        assert len(x["urls"]) == 1
        image = await client.get(x["urls"][0])
        assert image.status_code == 200 and image.content[:4] == b"\x89PNG"
        status = (await client.get(f"/v2/status/{x['uuid']}", headers=auth)).json()
        assert status["result"]["prompt"] == "A watercolor of Lucy the fox, reading a book"

    body = {"prompt": "reading a book", "include_generation_prefix": False, "sync": False}
    r = await client.post(PATH.format(model_id), json=body, headers=auth)
    assert r.status_code == 202 and len(r.json()["requests"]) == 1
    request_id = r.json()["request_id"]
    assert r.json()["status_url"].endswith(f"/v2/status/{request_id}")
    with runtime.sessions() as s:
        req = s.scalars(select(GenerationRequest).where(GenerationRequest.request_id == request_id)).one()
        job = s.get(Job, req.job_id)
        assert job is not None and job.payload["prompt"] == "reading a book"


@pytest.mark.parametrize(
    ("extra", "code", "named"),
    [
        (
            {"guidance_method_1": "controlnet_canny", "guidance_method_1_image_file": "x"},
            400,
            "guidance_method_1",
        ),
        ({"image_prompt_mode": "regular"}, 400, "image_prompt_mode"),
        ({"fast": True}, 400, "fast"),
        ({"num_results": 5}, 400, "num_results"),
        ({"num_results": 0}, 400, "num_results"),
        ({"aspect_ratio": "7:3"}, 400, "aspect_ratio"),
        ({"model_influence": 2}, 400, "model_influence"),
        ({"steps_num": 51}, 400, "steps_num"),
        ({"prompt": None}, 400, "prompt"),
    ],
)
async def test_bad_and_unsupported_options_are_named(
    client: httpx.AsyncClient, auth: dict, runtime: Runtime, settings: Settings, token: str,
    extra: dict, code: int, named: str,
) -> None:  # fmt: skip
    model_id = _model_with_prefix(runtime, token, settings, None)
    r = await client.post(PATH.format(model_id), json={"prompt": "a fox", **extra}, headers=auth)
    assert r.status_code == code, r.text
    assert named in r.json()["error"]["message"]


async def test_unknown_and_unready_models(
    client: httpx.AsyncClient, auth: dict, runtime: Runtime, settings: Settings, token: str
) -> None:
    assert (await client.post(PATH.format(999999), json={"prompt": "x"}, headers=auth)).status_code == 404
    created = add_model(runtime, token, None, status="Created")
    assert (await client.post(PATH.format(created), json={"prompt": "x"}, headers=auth)).status_code == 412
    ok = _model_with_prefix(runtime, token, settings, None)
    assert (await client.post(PATH.format(ok), json={"prompt": "x"})).status_code == 401


async def test_caption_prefix_is_set_on_a_draft_dataset_only(
    client: httpx.AsyncClient, auth: dict, runtime: Runtime, token: str
) -> None:
    from tests.engine.training.helpers import seed_dataset

    draft = seed_dataset(runtime, token, status="draft").dataset_id
    url = f"/v1/tailored-gen/datasets/{draft}"
    r = await client.put(url, json={"caption_prefix": "An icon of"}, headers=auth)
    assert r.status_code == 200 and r.json()["caption_prefix"] == "An icon of"
    r = await client.put(url, json={"caption_prefix": None}, headers=auth)
    assert r.status_code == 200 and r.json()["caption_prefix"] is None
    done = seed_dataset(runtime, token).dataset_id
    r = await client.put(f"/v1/tailored-gen/datasets/{done}", json={"caption_prefix": "x"}, headers=auth)
    assert r.status_code == 409 and "caption_prefix" in r.json()["error"]["message"]
