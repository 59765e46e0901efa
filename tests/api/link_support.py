"""Helpers for the link, host and header tests: an uploaded image's links, revoking a token, calling
the app under another host name."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
from sqlalchemy import update

from tailor.bootstrap import Runtime
from tailor.store.db import session_scope
from tailor.store.tables import ApiToken
from tests.services.factory import image_bytes
from tests.services.v1_support import make_dataset, upload


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


async def upload_png(client: httpx.AsyncClient, auth: dict[str, str]) -> dict:
    d = await make_dataset(client, auth)
    r = await upload(client, auth, d["id"], image_bytes(fmt="PNG"), name="a.png")
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def revoke(rt: Runtime, token: str) -> None:
    from tailor.domain.tokens import hash_token

    with session_scope(rt.sessions) as s:
        s.execute(update(ApiToken).where(ApiToken.token_hash == hash_token(token)).values(revoked=True))


async def call(app: object, base_url: str, path: str, **kw: object) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url=base_url) as c:
        return await c.get(path, **kw)  # type: ignore[arg-type]
