"""``POST /v2/structured_prompt/generate/tailored``: a v2 request that keeps the model's IP fields."""

from __future__ import annotations

import json

import httpx

from tailor.bootstrap import Runtime
from tailor.store.db import session_scope
from tailor.store.orgs import get_or_create_org
from tailor.worker.run import run_pending
from tests.bridge.records import make_dataset, make_model

URL = "/v2/structured_prompt/generate/tailored"
SCHEMA = json.dumps(
    {
        "style_medium": "flat vector illustration",
        "artistic_style": "minimalist flat",
        "objects": [{"description": "Lucy, a round orange robot", "shape_and_color": "round, orange"}],
    }
)


def _org(rt: Runtime, name: str = "acme") -> int:
    with session_scope(rt.sessions) as s:
        return get_or_create_org(s, name).id


async def _finish(
    client: httpx.AsyncClient, runtime: Runtime, auth: dict[str, str], r: httpx.Response
) -> dict:
    assert r.status_code == 202, r.text
    request_id = r.json()["request_id"]
    assert r.json()["status_url"].endswith(f"/v2/status/{request_id}")
    run_pending(runtime.queue, runtime.job_context())
    s = await client.get(f"/v2/status/{request_id}", headers=auth)
    assert s.status_code == 200
    return s.json()


async def test_text_prompt_keeps_the_dataset_schema(
    client: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime
) -> None:
    org = _org(runtime)
    model = make_model(runtime, org, make_dataset(runtime, org, visual_schema=SCHEMA))
    r = await client.post(
        URL,
        json={"tailored_model_id": str(model), "prompt": "a robot riding a bike in a park", "seed": 5},
        headers=auth,
    )
    body = await _finish(client, runtime, auth, r)
    assert body["status"] == "COMPLETED", body
    assert body["result"]["seed"] == 5
    sp = json.loads(body["result"]["structured_prompt"])
    assert sp["style_medium"] == "flat vector illustration"
    assert sp["objects"][0]["description"] == "Lucy, a round orange robot"
    assert "park" in sp["background_setting"]


async def test_refine_uses_the_models_own_schema_first(
    client: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime
) -> None:
    org = _org(runtime)
    own = json.dumps({"style_medium": "watercolor painting"})
    model = make_model(runtime, org, make_dataset(runtime, org, visual_schema=SCHEMA), visual_schema=own)
    r1 = await client.post(URL, json={"tailored_model_id": model, "prompt": "a cat on a sofa"}, headers=auth)
    first = (await _finish(client, runtime, auth, r1))["result"]
    assert isinstance(first["seed"], int)
    r2 = await client.post(
        URL,
        json={
            "tailored_model_id": str(model),
            "prompt": "set the mood to cozy",
            "structured_prompt": first["structured_prompt"],
        },
        headers=auth,
    )
    sp = json.loads((await _finish(client, runtime, auth, r2))["result"]["structured_prompt"])
    before = json.loads(first["structured_prompt"])
    assert sp["aesthetics"]["mood_atmosphere"] == "cozy"
    assert sp["style_medium"] == "watercolor painting"
    assert sp["objects"] == before["objects"] and sp["lighting"] == before["lighting"]


async def test_model_rules(client: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime) -> None:
    org = _org(runtime)
    ds = make_dataset(runtime, org, visual_schema=SCHEMA)
    training = make_model(runtime, org, ds, status="InProgress")
    legacy = make_model(runtime, org, ds, version="2.3")
    foreign = make_model(runtime, _org(runtime, "other"), make_dataset(runtime, _org(runtime, "other")))
    for model, status in ((training, 412), (legacy, 412), (foreign, 404), (99999, 404)):
        r = await client.post(URL, json={"tailored_model_id": str(model), "prompt": "x"}, headers=auth)
        assert r.status_code == status, (model, r.text)
        assert "tailored_model_id" in r.json()["error"]["message"]


async def test_input_rules(client: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime) -> None:
    org = _org(runtime)
    model = make_model(runtime, org, make_dataset(runtime, org))
    cases = [
        ({"tailored_model_id": "abc", "prompt": "x"}, "tailored_model_id"),
        ({"tailored_model_id": str(model)}, "prompt"),
        ({"tailored_model_id": str(model), "structured_prompt": json.dumps({"a": 1})}, "prompt"),
        ({"tailored_model_id": str(model), "prompt": "x", "structured_prompt": "{bad"}, "structured_prompt"),
        ({"tailored_model_id": str(model), "prompt": "x", "seed": -1}, "seed"),
    ]
    for body, field in cases:
        r = await client.post(URL, json=body, headers=auth)
        assert r.status_code == 400, (body, r.text)
        assert field in r.json()["error"]["message"]
