"""The v1 VLM endpoints over a litellm provider (a scripted server on 127.0.0.1): 503 and 422 answers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest

from tailor.api.app import create_app
from tailor.bootstrap import build_runtime
from tailor.config import Settings
from tests.bridge.fake_vlm import FakeVlm, Reply, serve
from tests.bridge.images import b64, sample_set
from tests.conftest import new_token


@pytest.fixture
async def vlm_client(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, FakeVlm, dict[str, str]]]:
    with serve(FakeVlm()) as fake:
        s = settings.model_copy(
            update={
                "vlm": "openai/test-vlm",
                "vlm_base_url": fake.url,
                "vlm_api_key": "k",
                "vlm_max_retries": 1,
                "vlm_retry_backoff_s": 0.01,
                "vlm_timeout_s": 2.0,
            }
        )
        rt = build_runtime(s, migrate=True)
        auth = {"api_token": new_token(rt, "acme")}
        app = create_app(s, rt)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://tailor.test"
        ) as c:
            yield c, fake, auth
        rt.close()


async def test_outage_is_503_with_reason(
    vlm_client: tuple[httpx.AsyncClient, FakeVlm, dict[str, str]],
) -> None:
    client, fake, auth = vlm_client
    fake.default = lambda _b: Reply(status=500, content="boom")
    r = await client.post(
        "/v1/tailored-gen/generate_visual_schema",
        json={"images": [b64(i) for i in sample_set(5)]},
        headers=auth,
    )
    assert r.status_code == 503
    assert "VLM provider failed after 2 attempts" in r.json()["error"]["message"]


async def test_invalid_reply_is_422_and_good_reply_is_200(
    vlm_client: tuple[httpx.AsyncClient, FakeVlm, dict[str, str]],
) -> None:
    client, fake, auth = vlm_client
    body = {"images": [b64(i) for i in sample_set(5)]}
    fake.script = [Reply("sorry, no"), Reply("```json\n" + json.dumps({"style_medium": "flat"}) + "\n```")]
    r = await client.post("/v1/tailored-gen/generate_visual_schema", json=body, headers=auth)
    assert r.status_code == 422 and "visual schema" in r.json()["error"]["message"]
    r = await client.post("/v1/tailored-gen/generate_visual_schema", json=body, headers=auth)
    assert r.status_code == 200 and json.loads(r.json()["visual_schema"]) == {"style_medium": "flat"}
