"""Every API route asks for a valid api_token (401 otherwise), whoever wrote it."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from tailor.config import Settings
from tests.conftest import make_settings

# Routes that are public on purpose: service endpoints, signed file links, the console's static shell.
PUBLIC = re.compile(r"^/(health|metrics|openapi\.json|docs|redoc|files/|console)")


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    # A wrong token on every route in a row would meet the failed-authentication backoff (429),
    # which tests/api/test_rate_limits.py covers.
    return make_settings(tmp_path / "home", db_url, auth_backoff_after=0)


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
