"""A status says where a waiting job stands: queued (position, what is ahead, which workers) or running."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tailor.bootstrap import Runtime
from tailor.config import Settings
from tailor.jobs.queue import enqueue
from tailor.services.requests import create_request
from tailor.store import jobs as job_store
from tailor.store import orgs
from tailor.store.db import immediate_transaction, session_scope
from tests.conftest import make_settings, new_token
from tests.jobs.helpers import KINDS, MODULE, Args


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return make_settings(tmp_path / "home", db_url, extra_handler_modules=MODULE)


def _request(rt: Runtime, token: str, kind: str) -> str:
    with immediate_transaction(rt.engine) as s:
        principal = orgs.authenticate(s, token)
        assert principal is not None
        req = create_request(
            s, principal, endpoint="/test", kind=KINDS[kind], payload=Args(), webhook_url=None, max_active=0
        )
        return req.request_id


async def test_status_says_what_a_queued_request_waits_for(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    token = new_token(runtime, "acme")
    auth = {"api_token": token}
    first = _request(runtime, token, "test_noop")
    body = (await client.get(f"/v2/status/{first}", headers=auth)).json()
    assert body["status"] == "IN_PROGRESS"
    assert body["queue"]["state"] == "queued" and body["queue"]["workers"] == 0
    assert "no running worker takes test_noop jobs" in body["queue"]["message"]

    # one worker for every kind, busy with a long job: the request is queued behind it
    with session_scope(runtime.sessions) as s:
        job_store.register_worker(s, "w1", "host", 1, runtime.registry.names)
    with session_scope(runtime.sessions) as s:
        long_job = enqueue(s, KINDS["test_noop_long"], Args(), organization_id=None).id
    # the long job was queued after the request but the worker took it (claim order: kinds only)
    claimed = runtime.queue.claim("w1", ["test_noop_long"])
    assert claimed is not None and claimed.id == long_job
    second = _request(runtime, token, "test_noop")
    q1 = (await client.get(f"/v2/status/{first}", headers=auth)).json()["queue"]
    q2 = (await client.get(f"/v2/status/{second}", headers=auth)).json()["queue"]
    assert q1["position"] == 1 and q2["position"] == 2
    assert q1["ahead"] == [{"kind": "test_noop_long", "state": "running", "count": 1}]
    assert {"kind": "test_noop", "state": "queued", "count": 1} in q2["ahead"]
    assert q1["workers"] == 1 and q1["idle_workers"] == 0
    assert q1["message"] == "queued, position 1: behind 1 running test_noop_long job"

    runtime.queue.complete(long_job, "w1", {})
    assert runtime.queue.claim("w1") is not None  # takes the first request
    running = (await client.get(f"/v2/status/{first}", headers=auth)).json()
    assert running["status"] == "IN_PROGRESS" and running["queue"]["state"] == "running"
