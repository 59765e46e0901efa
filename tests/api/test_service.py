"""Service endpoints, auth and the error shape."""

from __future__ import annotations

import httpx


async def test_health(client: httpx.AsyncClient) -> None:
    r = await client.get("/health")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"


async def test_openapi_and_docs(client: httpx.AsyncClient) -> None:
    r = await client.get("/openapi.json")
    assert r.status_code == 200
    assert r.json()["info"]["title"] == "Tailor"
    assert (await client.get("/docs")).status_code == 200


async def test_unknown_path_uses_error_shape(client: httpx.AsyncClient) -> None:
    r = await client.get("/nope")
    assert r.status_code == 404
    body = r.json()
    assert body["error"]["code"] == 404
    assert body["request_id"] == r.headers["x-request-id"]
