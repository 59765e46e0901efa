"""``/v2/structured_prompt/generate/tailored`` with ``sync=true`` and a real worker, over a litellm
provider played by a scripted server on 127.0.0.1: success, and an outage turned into a clear ERROR."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tailor.bootstrap import Runtime
from tailor.config import Settings
from tailor.store.db import session_scope
from tailor.store.orgs import get_or_create_org
from tests.bridge.fake_vlm import FakeVlm, Reply, serve
from tests.bridge.records import make_dataset, make_model
from tests.conftest import make_settings

URL = "/v2/structured_prompt/generate/tailored"
SCHEMA = json.dumps(
    {"style_medium": "flat vector illustration", "objects": [{"description": "Lucy, a robot"}]}
)
GOOD = {
    "short_description": "A robot in a park.",
    "objects": [{"description": "a robot", "location": "center", "relationship": "alone"}],
    "background_setting": "a park",
    "lighting": {"conditions": "daylight", "direction": "above"},
    "aesthetics": {"composition": "centered", "color_scheme": "greens", "mood_atmosphere": "calm"},
    "style_medium": "photograph",
    "context": "test",
}


@pytest.fixture
def fake_vlm() -> Iterator[FakeVlm]:
    with serve(FakeVlm()) as fake:
        yield fake


@pytest.fixture
def settings(tmp_path: Path, db_url: str, fake_vlm: FakeVlm) -> Settings:
    return make_settings(
        tmp_path / "home",
        db_url,
        vlm="openai/test-vlm",
        vlm_base_url=fake_vlm.url,
        vlm_api_key="k",
        vlm_max_retries=1,
        vlm_retry_backoff_s=0.01,
        vlm_timeout_s=2.0,
        sync_timeout_s=30.0,
    )


def _model(rt: Runtime) -> int:
    with session_scope(rt.sessions) as s:
        org = get_or_create_org(s, "acme").id
    return make_model(rt, org, make_dataset(rt, org, visual_schema=SCHEMA))


async def test_sync_answer_keeps_ip_fields(
    client: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime, worker: object, fake_vlm: FakeVlm
) -> None:
    fake_vlm.script = [Reply("```json\n" + json.dumps(GOOD) + "\n```")]
    body = {"tailored_model_id": str(_model(runtime)), "prompt": "a robot in a park", "seed": 3, "sync": True}
    r = await client.post(URL, json=body, headers=auth)
    assert r.status_code == 200, r.text
    data = r.json()
    sp = json.loads(data["structured_prompt"])
    assert data["result"]["structured_prompt"] == data["structured_prompt"]
    assert data["result"]["seed"] == 3
    assert sp["style_medium"] == "flat vector illustration"
    assert sp["objects"][0]["description"] == "Lucy, a robot"
    assert sp["background_setting"] == "a park"
    assert fake_vlm.requests[0]["seed"] == 3


async def test_provider_outage_is_an_error_with_the_reason(
    client: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime, worker: object, fake_vlm: FakeVlm
) -> None:
    fake_vlm.default = lambda _b: Reply(status=503, content="provider down")
    body = {"tailored_model_id": str(_model(runtime)), "prompt": "a robot", "sync": True}
    r = await client.post(URL, json=body, headers=auth)
    assert r.status_code == 503, r.text
    assert "failed after 2 attempts" in r.json()["error"]["message"]
    status = await client.get(f"/v2/status/{r.json()['request_id']}", headers=auth)
    assert status.json()["status"] == "ERROR"
