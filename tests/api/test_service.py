"""Service endpoints, auth and the error shape."""

from __future__ import annotations

import re

import httpx


async def test_health(client: httpx.AsyncClient) -> None:
    r = await client.get("/health")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"


async def test_openapi_and_docs(client: httpx.AsyncClient) -> None:
    r = await client.get("/openapi.json")
    assert r.status_code == 200
    assert r.json()["info"]["title"] == "Tailor"
    docs = await client.get("/docs")
    assert docs.status_code == 200
    # every asset of the docs page comes from Tailor itself: it works offline
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']|url: ?["']([^"']+)["']""", docs.text)
    urls = [a or b for a, b in assets]
    assert urls and all(u.startswith("/") for u in urls), urls
    for u in urls:
        r = await client.get(u)
        assert r.status_code == 200 and r.content, u
    assert (await client.get("/docs/assets/../../config.py")).status_code == 404


async def test_unknown_path_uses_error_shape(client: httpx.AsyncClient) -> None:
    r = await client.get("/nope")
    assert r.status_code == 404
    body = r.json()
    assert body["error"]["code"] == 404
    assert body["request_id"] == r.headers["x-request-id"]
