"""Who may read /metrics: loopback clients, or anyone with ``TAILOR_METRICS_TOKEN`` when it is set."""

from __future__ import annotations

from pathlib import Path

import httpx

from tailor.api.app import create_app
from tailor.bootstrap import build_runtime
from tests.conftest import make_settings


async def _metrics(app: object, client_addr: str, headers: dict[str, str] | None = None) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, client=(client_addr, 40000))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
        return await c.get("/metrics", headers=headers or {})


async def test_metrics_answer_only_loopback_without_a_metrics_token(app: object) -> None:
    for addr in ("127.0.0.1", "::1", "::ffff:127.0.0.1"):
        r = await _metrics(app, addr)
        assert r.status_code == 200, addr
        assert r.headers["content-type"].startswith("text/plain") and "# HELP tailor_queue_depth" in r.text
    for addr in ("203.0.113.7", "10.0.0.2", "2001:db8::1"):
        r = await _metrics(app, addr)
        assert r.status_code == 403, addr
        assert "TAILOR_METRICS_TOKEN" in r.json()["error"]["message"]
        assert "tailor_queue_depth" not in r.text


async def test_metrics_need_the_bearer_token_when_one_is_set(tmp_path: Path, db_url: str) -> None:
    settings = make_settings(tmp_path / "home", db_url, metrics_token="scrape-me")
    rt = build_runtime(settings, migrate=True)
    try:
        app = create_app(settings, rt)
        for addr in ("127.0.0.1", "203.0.113.7"):  # loopback is no exception once a token is set
            for headers in ({}, {"authorization": "Bearer nope"}, {"authorization": "Basic scrape-me"}):
                r = await _metrics(app, addr, headers)
                assert r.status_code == 401, (addr, headers)
                assert r.headers["www-authenticate"].startswith("Bearer")
                assert "TAILOR_METRICS_TOKEN" in r.json()["error"]["message"]
            r = await _metrics(app, addr, {"authorization": "Bearer scrape-me"})
            assert r.status_code == 200 and "# TYPE tailor_workers_live gauge" in r.text
    finally:
        rt.close()
