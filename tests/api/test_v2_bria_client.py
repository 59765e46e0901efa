"""Bria's own client, unchanged, against a live Tailor (uvicorn on 127.0.0.1 with a worker), and
signed webhooks verified with Bria's own verifier."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from bria_client import BriaSyncClient
from bria_client.toolkit import verify_webhook_signature

from tailor.bootstrap import Runtime
from tailor.config import Settings
from tests.conftest import make_settings
from tests.jobs.http_sink import HttpSink, Received


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return make_settings(
        tmp_path / "home",
        db_url,
        allow_private_urls=True,
        heartbeat_interval_s=0.2,
        job_retry_backoff_s=0.1,
        webhook_max_attempts=3,
        webhook_retry_backoff_s=0.1,
    )


@pytest.fixture
def sink() -> Iterator[HttpSink]:
    s = HttpSink()
    yield s
    s.close()


@pytest.fixture
def bria(token: str, live_server: str) -> Iterator[BriaSyncClient]:
    with BriaSyncClient(base_url=live_server, api_token=token) as c:
        yield c


def _verified(hook: Received, token: str) -> dict:
    h = {k.lower(): v for k, v in hook.headers.items()}
    assert verify_webhook_signature(
        hook.body, h["bria-webhook-id"], h["bria-webhook-timestamp"], h["bria-webhook-signature"], token
    )
    assert not verify_webhook_signature(
        hook.body, h["bria-webhook-id"], h["bria-webhook-timestamp"], h["bria-webhook-signature"], token + "x"
    )
    body = json.loads(hook.body)
    assert body["request_id"] == h["bria-webhook-id"]
    return body


def test_run_is_synchronous(bria: BriaSyncClient) -> None:
    res = bria.run("structured_prompt/generate", {"prompt": "a paper boat on a pond", "seed": 3})
    assert res.status == "COMPLETED" and res.error is None
    assert res.result.seed == 3
    assert "boat" in json.loads(res.result.structured_prompt)["short_description"].lower()


def test_submit_then_poll(bria: BriaSyncClient) -> None:
    sub = bria.submit("structured_prompt/generate", {"prompt": "a snowy mountain"})
    assert sub.status == "IN_PROGRESS" and sub.status_url and sub.request_id != "unknown"
    done = bria.poll(sub, interval=0.1, timeout=30)
    assert done.status == "COMPLETED" and done.request_id == sub.request_id
    json.loads(done.result.structured_prompt)


def test_errors_reach_the_client(bria: BriaSyncClient) -> None:
    res = bria.run("structured_prompt/generate", {"structured_prompt": "{}"})
    assert res.status == "ERROR" and res.error.code == 400 and "prompt" in res.error.message
    missing = bria.get("status/not-a-request")
    assert missing.status == "ERROR" and missing.error.code == 404


def test_webhook_is_delivered_signed(bria: BriaSyncClient, token: str, sink: HttpSink) -> None:
    sub = bria.submit("structured_prompt/generate", {"prompt": "a red kite"}, webhook_url=f"{sink.url}/hook")
    done = bria.poll(sub, interval=0.1, timeout=30)
    (hook,) = sink.wait_for(1)
    assert hook.path == "/hook"
    body = _verified(hook, token)
    assert body["status"] == "COMPLETED" and body["request_id"] == sub.request_id
    assert body["result"]["structured_prompt"] == done.result.structured_prompt


def test_webhook_is_retried_until_accepted(
    bria: BriaSyncClient, token: str, sink: HttpSink, runtime: Runtime
) -> None:
    sink.statuses = [500, 503]
    sub = bria.submit("structured_prompt/generate", {"prompt": "a kite"}, webhook_url=f"{sink.url}/h")
    hooks = sink.wait_for(3)
    assert len(hooks) == 3
    for hook in hooks:
        assert _verified(hook, token)["status"] == "COMPLETED"
    from tailor.store.requests import get_request_any

    def state() -> tuple[str | None, int]:
        with runtime.sessions() as s:
            req = get_request_any(s, sub.request_id)
            assert req is not None
            return req.webhook_state, req.webhook_attempts

    import time

    deadline = time.monotonic() + 10
    while state()[0] != "delivered" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert state() == ("delivered", 3)


def test_webhook_gives_up_after_max_attempts(
    bria: BriaSyncClient, token: str, sink: HttpSink, runtime: Runtime
) -> None:
    sink.statuses = [500] * 10
    sub = bria.submit("structured_prompt/generate", {"prompt": "a kite"}, webhook_url=f"{sink.url}/h")
    import time

    from tailor.store.requests import get_request_any

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with runtime.sessions() as s:
            req = get_request_any(s, sub.request_id)
            if req is not None and req.webhook_state == "failed":
                break
        time.sleep(0.05)
    assert req is not None and req.webhook_state == "failed" and req.webhook_attempts == 3
    assert len(sink.received) == 3
