"""The Host check (``TAILOR_ALLOWED_HOSTS``), the security headers every answer carries, and how
/files labels what it serves, through the real app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tailor.api.app import create_app
from tailor.bootstrap import Runtime, build_runtime
from tailor.config import Settings
from tests.api.link_support import call, path_of, upload_png
from tests.conftest import make_settings, new_token
from tests.services.factory import image_bytes

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


@pytest.fixture
def default_hosts_settings(tmp_path: Path, db_url: str) -> Settings:
    return make_settings(tmp_path / "home", db_url, allowed_hosts="", host="10.1.2.3")


@pytest.fixture
async def app_default_hosts(default_hosts_settings: Settings) -> AsyncIterator[tuple[Runtime, object]]:
    rt = build_runtime(default_hosts_settings, migrate=True)
    yield rt, create_app(default_hosts_settings, rt)
    rt.close()


async def test_unlisted_hosts_are_refused_before_any_link_is_built(
    app_default_hosts: tuple[Runtime, object],
) -> None:
    rt, app = app_default_hosts
    auth = {"api_token": new_token(rt, "acme")}
    r = await call(app, "http://evil.example", "/v1/tailored-gen/projects", headers=auth)
    assert r.status_code == 400
    body = r.json()
    assert "Host" in body["error"]["message"] and "TAILOR_ALLOWED_HOSTS" in body["error"]["message"]
    assert "evil.example" in body["error"]["message"] and body["request_id"]
    r = await call(app, "http://evil.example", "/v2/status/x", headers={**auth, "host": "a/b"})
    assert r.status_code == 400 and "Host" in r.json()["error"]["message"]
    # the defaults: loopback names and the bind address, any port
    for base in ("http://localhost:8000", "http://127.0.0.1", "http://[::1]:8000", "http://10.1.2.3:8000"):
        r = await call(app, base, "/v1/tailored-gen/projects", headers=auth)
        assert r.status_code == 200, (base, r.text)
    # health checks and scrapers address the server by IP: those paths build no links
    assert (await call(app, "http://evil.example", "/health")).status_code == 200


async def test_status_url_uses_only_an_allowed_host(
    client: httpx.AsyncClient, auth: dict[str, str], app: object
) -> None:
    r = await client.post("/v2/structured_prompt/generate", json={"prompt": "a fox"}, headers=auth)
    assert r.status_code == 202
    assert r.json()["status_url"].startswith("http://tailor.test/v2/status/")
    r = await call(app, "http://attacker.example", "/v2/status/x", headers=auth)
    assert r.status_code == 400


def test_allowed_hosts_setting(tmp_path: Path) -> None:
    s = Settings(home=tmp_path, host="0.0.0.0")
    assert s.allowed_host_names() == sorted(["localhost", "127.0.0.1", "::1", "0.0.0.0"])
    s = Settings(home=tmp_path, allowed_hosts="api.example.com, *.corp.example ,[::1]")
    assert s.allowed_host_names() == sorted(["api.example.com", "*.corp.example", "::1"])
    s = Settings(home=tmp_path, public_url="https://Tailor.Example.org:8443/base")
    assert "tailor.example.org" in s.allowed_host_names() and "localhost" in s.allowed_host_names()


async def test_wildcards_and_the_public_url_host(tmp_path: Path, db_url: str) -> None:
    settings = make_settings(
        tmp_path / "home", db_url, allowed_hosts="*.corp.example", public_url="https://tailor.example.org"
    )
    rt = build_runtime(settings, migrate=True)
    try:
        app = create_app(settings, rt)
        auth = {"api_token": new_token(rt, "acme")}
        for base, status in [
            ("http://a.corp.example", 200),
            ("http://corp.example", 400),
            ("https://tailor.example.org", 200),
            ("http://localhost", 400),  # an explicit list replaces the defaults
        ]:
            r = await call(app, base, "/v1/tailored-gen/projects", headers=auth)
            assert r.status_code == status, base
    finally:
        rt.close()


# --- security headers and what /files serves -----------------------------------------------------------


async def test_every_answer_carries_the_security_headers(
    client: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime
) -> None:
    img = await upload_png(client, auth)
    too_big = b"x" * (runtime.settings.max_request_bytes + 1)
    answers = [
        await client.get("/health"),
        await client.get("/v1/tailored-gen/projects", headers=auth),
        await client.get("/v1/tailored-gen/projects"),  # 401
        await client.get("/no/such/route"),  # 404
        await client.get("/v2/status/x", headers={**auth, "host": "evil.example"}),  # 400 from the Host check
        await client.post("/v1/tailored-gen/projects", content=too_big, headers=auth),  # 413
        await client.get(path_of(img["image_url"])),
        await client.get(path_of(img["image_url"]).replace("sig=", "sig=x")),  # 401 on /files
        await client.get("/metrics"),
        await client.get("/openapi.json"),
    ]
    for r in answers:
        for name, value in SECURITY_HEADERS.items():
            assert r.headers.get(name) == value, (r.request.url, r.status_code, name)
    statuses = [r.status_code for r in answers]
    assert statuses == [200, 200, 401, 404, 400, 413, 200, 401, 200, 200]


async def test_the_console_keeps_its_own_policy(client: httpx.AsyncClient) -> None:
    r = await client.get("/console")
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert r.headers["x-content-type-options"] == "nosniff" and r.headers["x-frame-options"] == "DENY"
    r = await client.get("/console/static/app.js")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")


async def test_files_are_labelled_by_their_bytes_and_never_rendered_as_pages(
    client: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime, token: str
) -> None:
    polyglot = image_bytes(fmt="PNG") + b"<html><script>alert(document.domain)</script></html>"
    runtime.blobs.put("images/1/polyglot.html", polyglot)
    runtime.blobs.put("images/1/page.png", b"<html><script>alert(1)</script></html>")
    runtime.blobs.put("exports/1/model.zip", b"PK\x03\x04" + b"\0" * 64)
    runtime.blobs.put("images/1/photo.bin", image_bytes(fmt="JPEG"))
    runtime.blobs.put("images/1/pic.webp", image_bytes(fmt="WEBP"))
    signer = runtime.signer.bound(None)
    expected = {
        "images/1/polyglot.html": ("image/png", "inline"),
        "images/1/page.png": ("application/octet-stream", "attachment"),
        "exports/1/model.zip": ("application/zip", "attachment"),
        "images/1/photo.bin": ("image/jpeg", "inline"),
        "images/1/pic.webp": ("image/webp", "inline"),
    }
    for key, (media, disposition) in expected.items():
        r = await client.get(signer.path(key))
        assert r.status_code == 200, key
        assert r.headers["content-type"] == media, key
        assert r.headers["content-disposition"].startswith(disposition), key
        assert key.rsplit("/", 1)[-1] in r.headers["content-disposition"]
        assert r.headers["x-content-type-options"] == "nosniff"
        csp = r.headers["content-security-policy"]
        assert "sandbox" in csp and "default-src 'none'" in csp
    assert (await client.get(signer.path("images/1/polyglot.html"))).content == polyglot
