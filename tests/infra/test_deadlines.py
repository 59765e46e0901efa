"""Every outbound exchange ends at its deadline, however slowly the other side drips bytes, and one
tenant's slow server cannot take the URL fetches (or the threads) of the others."""

from __future__ import annotations

import asyncio
import io
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tailor.config import Settings
from tailor.domain.errors import RateLimited, UpstreamUnavailable
from tailor.infra.outbound import OutboundSlots
from tailor.infra.safe_fetch import fetch_url
from tailor.worker.handlers.webhook import _post_pinned
from tests.conftest import make_settings, new_token

DRIP_S = 0.2  # one byte this often: every read completes well within any per-read timeout
DRIP_FOR_S = 20.0  # the server gives up after this (bounds the test if a deadline is missing)


class DripServer:
    """Accepts connections and answers one byte at a time: the status line and headers (``mode``
    "headers"), or quick headers then a body that never ends ("body")."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.connections = 0
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}/slow.png"

    def _serve(self) -> None:
        self._sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:  # closed
                return
            self.connections += 1
            threading.Thread(target=self._drip, args=(conn,), daemon=True).start()

    def _drip(self, conn: socket.socket) -> None:
        head = b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nX-Pad: " + b"a" * 500 + b"\r\n\r\n"
        try:
            conn.recv(65536)
            if self.mode == "body":
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\n\r\n")
            data = head if self.mode == "headers" else b"\x89" * 10_000
            end = time.monotonic() + DRIP_FOR_S
            for byte in data:
                if self._stop.is_set() or time.monotonic() > end:
                    break
                conn.sendall(bytes([byte]))
                time.sleep(DRIP_S)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._sock.close()


@pytest.fixture(params=["headers", "body"])
def drip(request: pytest.FixtureRequest) -> Iterator[DripServer]:
    server = DripServer(request.param)
    yield server
    server.close()


def test_a_fetch_ends_at_its_deadline_however_slow_the_drip(drip: DripServer) -> None:
    started = time.monotonic()
    with pytest.raises(UpstreamUnavailable) as e:
        fetch_url(drip.url, allow_private=True, max_bytes=1 << 20, timeout_s=1.0, field="image_url")
    assert time.monotonic() - started < DRIP_FOR_S / 2
    assert e.value.field == "image_url" and "1s" in e.value.message


def test_a_webhook_post_ends_at_its_deadline() -> None:
    """A receiver that drips its answer's headers; (its body is never read: the status is enough)."""
    drip = DripServer("headers")
    started = time.monotonic()
    with pytest.raises(httpx.HTTPError):
        _post_pinned(drip.url, b"{}", {}, allow_private=True, timeout_s=1.0)
    assert time.monotonic() - started < DRIP_FOR_S / 2
    drip.close()


def test_outbound_slots_refuse_at_once_past_the_tenants_share() -> None:
    slots = OutboundSlots(per_key=2, total=3)
    with slots.slot("a", field="image_url"), slots.slot("a", field="image_url"):
        with pytest.raises(RateLimited) as e:
            with slots.slot("a", field="image_url"):
                pass
        assert e.value.status == 429 and e.value.retry_after_s >= 1
        with slots.slot("b", field="image_url"):  # another tenant still gets one
            with pytest.raises(RateLimited):
                with slots.slot("c", field="image_url"):  # ...until the process-wide cap
                    pass
    with slots.slot("a", field="image_url"):  # freed on exit
        pass


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return make_settings(
        tmp_path / "home",
        db_url,
        allow_private_urls=True,
        url_fetch_timeout_s=3.0,
        url_fetch_per_org=2,
        url_fetch_total=8,
    )


def _png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (300, 300), (200, 30, 30)).save(buf, format="PNG")
    return buf.getvalue()


async def test_a_slow_tenant_gets_429_past_its_share_and_others_are_served(
    client: httpx.AsyncClient, auth: dict, runtime: object, token: str
) -> None:
    server = DripServer("headers")
    try:
        other = {"api_token": new_token(runtime, "org-b")}  # type: ignore[arg-type]
        project = {"project_name": "p", "ip_medium": "illustration", "ip_type": "stylized_scene"}
        datasets = {}
        for name, headers in (("a", auth), ("b", other)):
            p = (await client.post("/v1/tailored-gen/projects", json=project, headers=headers)).json()
            d = await client.post(
                "/v1/tailored-gen/datasets",
                json={"project_id": p["id"], "name": "d", "upload_type": "basic"},
                headers=headers,
            )
            datasets[name] = d.json()["id"]
        images_a = f"/v1/tailored-gen/datasets/{datasets['a']}/images"
        slow = [
            asyncio.create_task(client.post(images_a, json={"image_url": server.url}, headers=auth))
            for _ in range(2)
        ]
        for _ in range(200):  # both slow fetches hold their slots
            if server.connections >= 2:
                break
            await asyncio.sleep(0.02)
        assert server.connections >= 2
        third = await client.post(images_a, json={"image_url": server.url}, headers=auth)
        assert third.status_code == 429 and int(third.headers["retry-after"]) >= 1
        assert "image_url" in third.json()["error"]["message"] or third.json()["error"]["message"]
        assert not any(t.done() for t in slow)  # refused while they were still running
        assert (await client.get("/health")).status_code == 200
        files = {"file": ("b.png", _png(), "image/png")}
        r = await client.post(f"/v1/tailored-gen/datasets/{datasets['b']}/images", files=files, headers=other)
        assert r.status_code in (200, 201), r.text
        answers = await asyncio.gather(*slow)
        assert all(a.status_code == 422 for a in answers), [a.text for a in answers]
    finally:
        server.close()
