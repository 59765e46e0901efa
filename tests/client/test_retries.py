"""Retries: connection errors and 429/503 are retried with backoff; other errors are not."""

from __future__ import annotations

import socket

import httpx
import pytest

from tailor.client import AsyncTailor, NotFoundError, ServiceUnavailableError, Tailor, TailorConnectionError


class Flaky(httpx.AsyncBaseTransport):
    """A network in front of the real app that fails the first ``n`` requests in a given way."""

    def __init__(self, inner: httpx.AsyncBaseTransport, n: int, mode: str) -> None:
        self.inner, self.n, self.mode = inner, n, mode
        self.calls = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        if self.calls <= self.n:
            if self.mode == "connect":
                raise httpx.ConnectError("connection refused", request=request)
            if self.mode == "read":
                raise httpx.ReadError("connection reset", request=request)
            status = 429 if self.mode == "429" else 503
            return httpx.Response(status, headers={"retry-after": "0"}, json={"error": {"code": status}})
        return await self.inner.handle_async_request(request)


def _sdk(app, token: str, flaky: Flaky, retries: int = 3) -> AsyncTailor:  # type: ignore[no-untyped-def]
    return AsyncTailor("http://tailor.test", token, transport=flaky, max_retries=retries, backoff=0.01)


@pytest.mark.parametrize("mode", ["connect", "429", "503"])
async def test_transient_failures_are_retried(app, token: str, mode: str) -> None:  # type: ignore[no-untyped-def]
    flaky = Flaky(httpx.ASGITransport(app=app), 2, mode)
    async with _sdk(app, token, flaky) as t:
        health = await t.health()
    assert health.status == "ok"
    assert flaky.calls == 3


async def test_gives_up_after_max_retries(app, token: str) -> None:  # type: ignore[no-untyped-def]
    flaky = Flaky(httpx.ASGITransport(app=app), 10, "503")
    async with _sdk(app, token, flaky, retries=2) as t:
        with pytest.raises(ServiceUnavailableError) as e:
            await t.health()
    assert e.value.status == 503
    assert flaky.calls == 3


async def test_a_post_is_not_resent_after_the_connection_broke_mid_request(app, token: str) -> None:  # type: ignore[no-untyped-def]
    flaky = Flaky(httpx.ASGITransport(app=app), 1, "read")
    async with _sdk(app, token, flaky) as t:
        with pytest.raises(TailorConnectionError):
            await t.projects.create("x", ip_medium="illustration", ip_type="other")
    assert flaky.calls == 1


async def test_client_errors_are_not_retried(app, token: str) -> None:  # type: ignore[no-untyped-def]
    flaky = Flaky(httpx.ASGITransport(app=app), 0, "503")
    async with _sdk(app, token, flaky) as t:
        with pytest.raises(NotFoundError):
            await t.projects.get(424242)
    assert flaky.calls == 1


def test_unreachable_server_is_a_connection_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed when the block ends: nothing listens there
    with Tailor(f"http://127.0.0.1:{port}", "t", max_retries=2, backoff=0.01) as t:
        with pytest.raises(TailorConnectionError) as e:
            t.health()
    assert f"127.0.0.1:{port}" in str(e.value)
