"""Signed links through the real app: a link lives exactly its TTL, and a link handed out with a token
stops working when that token is revoked (links without a token, and the old format, live on)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from urllib.parse import urlsplit

import httpx
import pytest

from tailor.bootstrap import Runtime
from tailor.domain.signing import MAX_EXPIRY_STEP_S, UrlSigner
from tests.api.link_support import path_of, query_of, revoke, upload_png
from tests.conftest import new_token


@pytest.mark.parametrize("ttl", [60, 600, 3600, 86400, 7 * 86400 + 17])
def test_a_link_lives_its_ttl_and_never_longer(ttl: int) -> None:
    signer = UrlSigner("s", ttl)
    assert signer.expiry_step_s <= min(MAX_EXPIRY_STEP_S, max(ttl // 10, 1))
    for now in range(1_700_000_000, 1_700_000_000 + 7300, 37):
        exp, sig = signer.sign("images/1/a.png", token_id=None, now=now)
        assert now + ttl - signer.expiry_step_s < exp <= now + ttl
        assert signer.verify("images/1/a.png", exp, sig, token_id=None, now=exp)
        assert not signer.verify("images/1/a.png", exp, sig, token_id=None, now=exp + 1)


def test_links_of_one_record_are_stable_within_the_step() -> None:
    signer = UrlSigner("s", 86400)
    start = 1_700_000_040  # a multiple of the 60 s step once the TTL is added
    assert len({signer.sign("k", token_id=3, now=start + i) for i in range(60)}) == 1


async def test_links_from_the_api_expire_exactly_after_the_ttl(
    client: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime
) -> None:
    before = time.time()
    img = await upload_png(client, auth)
    ttl = runtime.settings.signed_url_ttl_s
    for url in (img["image_url"], img["thumbnail_url"]):
        exp = int(query_of(url)["exp"])
        assert before + ttl - MAX_EXPIRY_STEP_S - 1 <= exp <= time.time() + ttl


# --- links bound to the token they were issued to ------------------------------------------------------


async def test_links_stop_working_when_their_token_is_revoked(
    client: httpx.AsyncClient, auth: dict[str, str], token: str, runtime: Runtime
) -> None:
    img = await upload_png(client, auth)
    other = {"api_token": new_token(runtime, "acme")}  # a second token of the same organization
    r = await client.get(f"/v1/tailored-gen/datasets/{img['dataset_id']}/images/{img['id']}", headers=other)
    others_link = r.json()["image_url"]
    assert query_of(img["image_url"])["tok"] != query_of(others_link)["tok"]
    assert (await client.get(path_of(img["image_url"]))).status_code == 200

    revoke(runtime, token)
    for url in (img["image_url"], img["thumbnail_url"]):
        r = await client.get(path_of(url))
        assert r.status_code == 401
        assert "revoked" in r.json()["error"]["message"]
    # the same file through a link issued to a live token still works
    r = await client.get(path_of(others_link))
    assert r.status_code == 200 and r.content.startswith(b"\x89PNG")


async def test_the_token_binding_cannot_be_removed_or_changed(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    img = await upload_png(client, auth)
    q = query_of(img["image_url"])
    path = urlsplit(img["image_url"]).path
    assert (await client.get(f"{path}?exp={q['exp']}&sig={q['sig']}")).status_code == 401
    forged = int(q["tok"]) + 1
    assert (await client.get(f"{path}?exp={q['exp']}&tok={forged}&sig={q['sig']}")).status_code == 401
    assert (await client.get(f"{path}?exp={q['exp']}&tok={q['tok']}&sig={q['sig']}")).status_code == 200


async def test_links_without_a_token_and_links_of_the_old_format_keep_working(
    client: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime, token: str
) -> None:
    img = await upload_png(client, auth)
    key = urlsplit(img["image_url"]).path.removeprefix("/files/")
    assert (await client.get(runtime.signer.path(key, token_id=None))).status_code == 200
    # a link issued before links were bound: HMAC-SHA256(secret, "key\nexp"), 24 bytes, base64url
    exp = int(time.time()) + 3600
    mac = hmac.new(b"test-secret", f"{key}\n{exp}".encode(), hashlib.sha256).digest()[:24]
    sig = base64.urlsafe_b64encode(mac).decode().rstrip("=")
    assert (await client.get(f"/files/{key}?exp={exp}&sig={sig}")).status_code == 200
    revoke(runtime, token)  # unbound links do not name a token: they live until they expire
    assert (await client.get(f"/files/{key}?exp={exp}&sig={sig}")).status_code == 200
