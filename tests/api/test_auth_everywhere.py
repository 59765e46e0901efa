"""Every API route asks for a valid api_token (401 otherwise), whoever wrote it."""

from __future__ import annotations

import re

import httpx
import pytest

# Routes that are public on purpose: service endpoints, signed file links, the console's static shell.
PUBLIC = re.compile(r"^/(health|metrics|openapi\.json|docs|redoc|files/|console)")


def _protected(schema: dict) -> list[tuple[str, str]]:
    out = []
    for path, ops in schema["paths"].items():
        if PUBLIC.match(path):
            continue
        concrete = re.sub(r"\{[^}]+\}", "1", path)
        for method in ops:
            if method.upper() in {"GET", "POST", "PUT", "PATCH", "DELETE"}:
                out.append((method.upper(), concrete))
    return out


async def test_every_route_requires_a_token(client: httpx.AsyncClient) -> None:
    routes = _protected((await client.get("/openapi.json")).json())
    if not routes:
        pytest.skip("no protected routes mounted")
    for method, path in routes:
        r = await client.request(method, path)
        assert r.status_code == 401, f"{method} {path} answered {r.status_code} without a token"
        assert r.json()["error"]["code"] == 401
        r = await client.request(method, path, headers={"api_token": "tlr_not-a-real-token"})
        assert r.status_code == 401, f"{method} {path} answered {r.status_code} with a bad token"
