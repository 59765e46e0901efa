"""The v2 protocol through the real app and a real worker: 202/200, status, errors, events, metrics."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tailor.bootstrap import Runtime
from tailor.config import Settings
from tailor.services.requests import create_request
from tailor.store import orgs
from tailor.store.db import immediate_transaction
from tests.conftest import make_settings, new_token
from tests.jobs.helpers import KINDS, MODULE, Args
from tests.jobs.http_sink import HttpSink

SP = "/v2/structured_prompt/generate"


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return make_settings(
        tmp_path / "home",
        db_url,
        allow_private_urls=True,
        extra_handler_modules=MODULE,
        heartbeat_interval_s=0.2,
        sync_timeout_s=30.0,
    )


@pytest.fixture
def sink() -> Iterator[HttpSink]:
    s = HttpSink()
    yield s
    s.close()


async def _poll(client: httpx.AsyncClient, auth: dict, request_id: str) -> dict:
    import asyncio

    for _ in range(300):
        r = await client.get(f"/v2/status/{request_id}", headers=auth)
        assert r.status_code == 200
        if r.json()["status"] != "IN_PROGRESS":
            return r.json()
        await asyncio.sleep(0.05)
    raise AssertionError("still IN_PROGRESS")


def _request(rt: Runtime, token: str, kind: str, payload: dict) -> str:
    """A v2 request over a test job kind, made through the same service the routes use."""
    # read-then-write on SQLite: take the write lock up front (a worker is writing concurrently)
    with immediate_transaction(rt.engine) as s:
        principal = orgs.authenticate(s, token)
        assert principal is not None
        req = create_request(
            s,
            principal,
            endpoint="/test",
            kind=KINDS[kind],
            payload=Args(**payload),
            webhook_url=None,
            max_active=rt.settings.org_max_active_jobs,
        )
        return req.request_id


async def test_sync_true_answers_200_with_the_result(client: httpx.AsyncClient, auth: dict, worker) -> None:  # type: ignore[no-untyped-def]
    r = await client.post(SP, json={"prompt": "a red fox in snow", "seed": 7, "sync": True}, headers=auth)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["request_id"] and body["result"]["seed"] == 7
    sp = json.loads(body["result"]["structured_prompt"])
    assert "fox" in sp["short_description"].lower()
    assert body["structured_prompt"] == body["result"]["structured_prompt"]  # repeated at top level


async def test_sync_false_answers_202_then_status_completes(
    client: httpx.AsyncClient, auth: dict, worker
) -> None:  # type: ignore[no-untyped-def]
    r = await client.post(SP, json={"prompt": "a lighthouse at dusk"}, headers=auth)
    assert r.status_code == 202, r.text
    body = r.json()
    assert set(body) == {"request_id", "status_url"}
    assert body["status_url"] == f"http://tailor.test/v2/status/{body['request_id']}"
    done = await _poll(client, auth, body["request_id"])
    assert done["status"] == "COMPLETED" and done["request_id"] == body["request_id"]
    assert isinstance(done["result"]["seed"], int)
    json.loads(done["result"]["structured_prompt"])


async def test_sync_true_falls_back_to_202_when_the_wait_runs_out(
    client: httpx.AsyncClient, auth: dict, runtime: Runtime
) -> None:
    runtime.settings.sync_timeout_s = 0.3  # and no worker is running
    r = await client.post(SP, json={"prompt": "a cat", "sync": True}, headers=auth)
    assert r.status_code == 202
    status = await client.get(f"/v2/status/{r.json()['request_id']}", headers=auth)
    assert status.status_code == 200 and status.json()["status"] == "IN_PROGRESS"


async def test_unknown_or_foreign_request_is_404_not_found(
    client: httpx.AsyncClient, auth: dict, runtime: Runtime, worker
) -> None:  # type: ignore[no-untyped-def]
    r = await client.get("/v2/status/does-not-exist", headers=auth)
    assert r.status_code == 404 and r.json() == {"status": "NOT_FOUND"}
    mine = (await client.post(SP, json={"prompt": "a tree"}, headers=auth)).json()["request_id"]
    other = {"api_token": new_token(runtime, "someone-else")}
    r = await client.get(f"/v2/status/{mine}", headers=other)
    assert r.status_code == 404 and r.json() == {"status": "NOT_FOUND"}
    r = await client.get(f"/v2/status/{mine}/events", headers=other)
    assert r.status_code == 404 and r.json() == {"status": "NOT_FOUND"}


async def test_a_failed_job_is_status_error_and_a_sync_error(
    client: httpx.AsyncClient, auth: dict, worker, sink: HttpSink
) -> None:  # type: ignore[no-untyped-def]
    missing = f"{sink.url}/no-such-image.png"  # the sink answers 404 to GET
    r = await client.post(SP, json={"images": [missing]}, headers=auth)
    assert r.status_code == 202
    done = await _poll(client, auth, r.json()["request_id"])
    assert done["status"] == "ERROR" and "result" not in done
    assert done["error"]["code"] == 400 and "404" in done["error"]["message"]
    r = await client.post(SP, json={"images": [missing], "sync": True}, headers=auth)
    assert r.status_code == 400
    assert r.json()["error"]["code"] == 400 and r.json()["request_id"]


async def test_cancelled_request_reads_as_error(
    client: httpx.AsyncClient, auth: dict, token: str, runtime: Runtime
) -> None:
    rid = _request(runtime, token, "test_sleep", {"seconds": 5})
    with runtime.sessions() as s:
        from tailor.store.requests import get_request_any

        job_id = get_request_any(s, rid).job_id  # type: ignore[union-attr]
    runtime.queue.cancel(job_id)  # type: ignore[arg-type]
    r = await client.get(f"/v2/status/{rid}", headers=auth)
    assert r.json()["status"] == "ERROR" and r.json()["error"]["message"] == "cancelled"


@pytest.mark.parametrize(
    ("body", "field", "status"),
    [
        ({}, "prompt", 400),
        ({"structured_prompt": "{}"}, "prompt", 400),
        ({"prompt": "x", "structured_prompt": "not json"}, "structured_prompt", 400),
        ({"prompt": "x", "images": ["a", "b"]}, "images", 400),
        ({"images": ["%%%not-base64%%%"]}, "images", 400),
        ({"images": ["aGVsbG8gd29ybGQ="]}, "images", 415),
        ({"prompt": "x", "webhook_url": "ftp://example.com/hook"}, "webhook_url", 400),
        ({"prompt": "x", "seed": -1}, "seed", 400),
        ({"prompt": "x", "sync": "maybe"}, "sync", 400),
    ],
)
async def test_bad_bodies_get_a_clear_4xx(
    client: httpx.AsyncClient, auth: dict, body: dict, field: str, status: int
) -> None:
    r = await client.post(SP, json=body, headers=auth)
    assert r.status_code == status, r.text
    assert field in r.json()["error"]["message"]


async def test_private_webhook_refused_unless_allowed(
    client: httpx.AsyncClient, auth: dict, runtime: Runtime
) -> None:
    runtime.settings.allow_private_urls = False
    r = await client.post(SP, json={"prompt": "x", "webhook_url": "http://127.0.0.1:9/hook"}, headers=auth)
    assert r.status_code == 400 and "webhook_url" in r.json()["error"]["message"]


async def test_inline_base64_image_is_accepted(client: httpx.AsyncClient, auth: dict, worker) -> None:  # type: ignore[no-untyped-def]
    import base64
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buf, format="PNG")
    image = base64.b64encode(buf.getvalue()).decode()
    r = await client.post(SP, json={"images": [image], "prompt": "make it blue", "sync": True}, headers=auth)
    assert r.status_code == 200, r.text
    json.loads(r.json()["result"]["structured_prompt"])


async def test_event_stream_shows_progress_until_the_end(
    client: httpx.AsyncClient, auth: dict, token: str, runtime: Runtime, worker
) -> None:  # type: ignore[no-untyped-def]
    rid = _request(runtime, token, "test_sleep", {"seconds": 1.0})
    r = await client.get(f"/v2/status/{rid}/events", headers=auth)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    events = [
        json.loads(line.removeprefix("data: ")) for line in r.text.splitlines() if line.startswith("data: ")
    ]
    assert events[-1]["status"] == "COMPLETED" and events[-1]["result"]["slept"] == 1.0
    assert all(e["status"] == "IN_PROGRESS" for e in events[:-1])
    assert any("progress" in e for e in events[:-1])
    assert "event: status" in r.text


async def test_metrics_count_requests_and_read_the_queue(
    client: httpx.AsyncClient, auth: dict, worker
) -> None:  # type: ignore[no-untyped-def]
    r = await client.post(SP, json={"prompt": "a boat", "sync": True}, headers=auth)
    assert r.status_code == 200
    await client.get("/v2/status/nope", headers=auth)
    text = (await client.get("/metrics")).text
    assert (
        'tailor_http_requests_total{method="POST",route="/v2/structured_prompt/generate",status="200"} 1.0'
        in text
    )
    assert 'route="/v2/status/{request_id}",status="404"' in text
    assert "tailor_http_request_duration_seconds_bucket" in text
    assert 'tailor_jobs_finished_total{kind="structured_prompt",outcome="completed"} 1.0' in text
    assert 'tailor_job_duration_seconds_count{kind="structured_prompt",outcome="completed"} 1.0' in text
    assert "tailor_workers_live 1.0" in text
