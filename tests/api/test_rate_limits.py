"""Rate limits per API token (per client address without a valid token) and the backoff after failed
authentications, through the real app; the bucket and backoff arithmetic on a clock we move.

The app-level tests run with the in-process store and, when ``TAILOR_TEST_REDIS_URL`` is set
(e.g. ``redis://127.0.0.1:6379/0``), again with the Redis store.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from tailor.api.app import create_app
from tailor.api.ratelimit import MemoryStore, RedisStore, backoff_wait, take_token
from tailor.bootstrap import Runtime, build_runtime
from tailor.config import Settings
from tests.conftest import make_settings, new_token

REDIS_URL = os.environ.get("TAILOR_TEST_REDIS_URL")
LIST = "/v1/tailored-gen/projects"
BAD = {"api_token": "tlr_not-a-real-token"}


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def store_kind(request: pytest.FixtureRequest) -> str:
    if request.param == "redis" and not REDIS_URL:
        pytest.skip("set TAILOR_TEST_REDIS_URL to run the Redis variant")
    return str(request.param)


@pytest.fixture
def serve(tmp_path: Path, store_kind: str) -> Iterator[Callable[..., object]]:
    """``async with serve(**settings) as (client, rt)``: the app on SQLite with these settings; the
    client connects from 127.0.0.1, ``other_address(client)`` from another address."""
    runtimes: list[Runtime] = []

    @asynccontextmanager
    async def _serve(**overrides: object) -> AsyncIterator[tuple[httpx.AsyncClient, Runtime]]:
        if store_kind == "redis":
            overrides["redis_url"] = REDIS_URL
        home = tmp_path / f"home{len(runtimes)}"
        settings = make_settings(home, f"sqlite:///{home / 'tailor.db'}", **overrides)
        rt = build_runtime(settings, migrate=True)
        runtimes.append(rt)
        app = create_app(settings, rt)
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 4321))
        async with httpx.AsyncClient(transport=transport, base_url="http://tailor.test") as client:
            yield client, rt

    yield _serve
    for rt in runtimes:
        rt.close()


def other_address(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """A client of the same app that connects from 10.1.2.3."""
    app = client._transport.app  # type: ignore[attr-defined]
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=("10.1.2.3", 4321)), base_url="http://tailor.test"
    )


def assert_429(r: httpx.Response, *words: str) -> int:
    """A 429 in the one error shape with an integer Retry-After ≥ 1; returns Retry-After."""
    assert r.status_code == 429, r.text
    body = r.json()
    assert set(body) == {"error", "request_id"} and body["error"]["code"] == 429
    for word in words:
        assert word in body["error"]["message"], body
    retry_after = r.headers["retry-after"]
    assert retry_after.isdigit() and int(retry_after) >= 1
    return int(retry_after)


async def test_a_burst_over_the_limit_answers_429_with_retry_after(serve) -> None:  # type: ignore[no-untyped-def]
    async with serve(rate_limit_per_s=0.5, rate_limit_burst=3) as (client, rt):
        a, b = {"api_token": new_token(rt, "acme")}, {"api_token": new_token(rt, "acme")}
        answers = await asyncio.gather(*(client.get(LIST, headers=a) for _ in range(5)))
        assert sorted(r.status_code for r in answers) == [200, 200, 200, 429, 429]
        too_many = next(r for r in answers if r.status_code == 429)
        assert assert_429(too_many, "api_token", "0.5 requests per second", "bursts of up to 3") == 2
        # each token has its own bucket
        assert (await client.get(LIST, headers=b)).status_code == 200
        # the bucket refills at the configured rate
        await asyncio.sleep(2.1)
        assert (await client.get(LIST, headers=a)).status_code == 200
        assert (await client.get(LIST, headers=a)).status_code == 429


async def test_requests_without_a_valid_token_are_limited_per_address(serve) -> None:  # type: ignore[no-untyped-def]
    async with serve(rate_limit_per_s=0.5, rate_limit_burst=2, auth_backoff_after=0) as (client, rt):
        auth = {"api_token": new_token(rt, "acme")}
        assert (await client.get(LIST)).status_code == 401
        assert (await client.get(LIST, headers=BAD)).status_code == 401
        r = await client.get(LIST)
        assert assert_429(r, "without a valid api_token", "this address") == 2  # 1 token at 0.5/s
        assert (await client.get(LIST, headers=BAD)).status_code == 429
        # the address's bucket is not the token's
        assert (await client.get(LIST, headers=auth)).status_code == 200


async def test_zero_disables_the_rate_limit(serve) -> None:  # type: ignore[no-untyped-def]
    async with serve(rate_limit_per_s=0, rate_limit_burst=1) as (client, rt):
        auth = {"api_token": new_token(rt, "acme")}
        answers = await asyncio.gather(*(client.get(LIST, headers=auth) for _ in range(20)))
        assert {r.status_code for r in answers} == {200}


async def test_failed_authentications_back_off_exponentially(serve) -> None:  # type: ignore[no-untyped-def]
    async with serve(auth_backoff_after=3) as (client, rt):
        auth = {"api_token": new_token(rt, "acme")}
        for _ in range(3):
            assert (await client.get(LIST, headers=BAD)).status_code == 401
        # the 4th failure makes the address wait 1 s ...
        assert assert_429(await client.get(LIST, headers=BAD), "failed authentications") == 1
        # ... during which nothing from it is looked at, not even a valid token
        assert assert_429(await client.get(LIST, headers=auth), "failed authentications") == 1
        await asyncio.sleep(1.1)
        # the next failure doubles the wait (the cap is tested below)
        assert assert_429(await client.get(LIST, headers=BAD)) == 2
        await asyncio.sleep(2.1)
        # a success clears the count
        assert (await client.get(LIST, headers=auth)).status_code == 200
        for _ in range(3):
            assert (await client.get(LIST, headers=BAD)).status_code == 401
        assert (await client.get(LIST, headers=BAD)).status_code == 429


async def test_backoff_is_per_address_and_forgotten_with_time(serve) -> None:  # type: ignore[no-untyped-def]
    async with serve(auth_backoff_after=2, auth_backoff_reset_s=1) as (client, rt):
        token = new_token(rt, "acme")
        for _ in range(2):
            assert (await client.get(LIST, headers=BAD)).status_code == 401
        assert (await client.get(LIST, headers=BAD)).status_code == 429
        # another address of the same app is not held back
        async with other_address(client) as c2:
            assert (await c2.get(LIST, headers={"api_token": token})).status_code == 200
            assert (await c2.get(LIST, headers=BAD)).status_code == 401
        # 1 s of waiting, then 1 s (reset_s) without a failure: forgotten
        await asyncio.sleep(2.2)
        assert (await client.get(LIST, headers=BAD)).status_code == 401
        assert (await client.get(LIST, headers=BAD)).status_code == 401


async def test_missing_tokens_do_not_count_as_failed_authentications(serve) -> None:  # type: ignore[no-untyped-def]
    async with serve(auth_backoff_after=1) as (client, _rt):
        for _ in range(5):
            assert (await client.get(LIST)).status_code == 401


async def test_an_unreachable_redis_never_fails_a_request(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path / "home", f"sqlite:///{tmp_path / 'tailor.db'}", redis_url="redis://127.0.0.1:1/0"
    )
    rt = build_runtime(settings, migrate=True)
    try:
        auth = {"api_token": new_token(rt, "acme")}
        transport = httpx.ASGITransport(app=create_app(settings, rt))
        async with httpx.AsyncClient(transport=transport, base_url="http://tailor.test") as client:
            assert (await client.get(LIST, headers=auth)).status_code == 200
            assert (await client.get(LIST, headers=BAD)).status_code == 401
    finally:
        rt.close()


# --- the arithmetic, on a clock the test moves ------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_token_bucket_refills_at_the_rate_and_never_beyond_the_burst() -> None:
    assert take_token(0.0, 0.5, rate=2.0, burst=5) == (0.0, 0.0)  # 1 token refilled, taken
    assert take_token(0.0, 0.25, rate=2.0, burst=5) == (0.5, 0.25)  # half a token: wait 0.25 s
    assert take_token(4.0, 100.0, rate=2.0, burst=5) == (4.0, 0.0)  # capped at 5, one taken

    clock = Clock()
    store = MemoryStore(clock=clock)
    assert [store.take("k", 10.0, 3) for _ in range(4)] == [0.0, 0.0, 0.0, pytest.approx(0.1)]
    clock.t += 0.1
    assert store.take("k", 10.0, 3) == 0.0
    assert store.take("other", 10.0, 3) == 0.0


def test_backoff_doubles_up_to_the_cap_and_is_forgotten() -> None:
    assert [backoff_wait(n, free=3, max_s=10) for n in range(1, 9)] == [0, 0, 0, 1, 2, 4, 8, 10]

    clock = Clock()
    store = MemoryStore(clock=clock)
    assert [store.fail("ip", 2, 60, 100) for _ in range(3)] == [0, 0, 1]
    assert store.blocked_for("ip") == 1
    clock.t += 1
    assert store.blocked_for("ip") == 0
    assert store.fail("ip", 2, 60, 100) == 2
    store.clear("ip")  # a success
    assert store.fail("ip", 2, 60, 100) == 0
    clock.t += 101  # reset_s without a failure
    assert [store.fail("ip", 2, 60, 100) for _ in range(3)] == [0, 0, 1]


def test_memory_store_stays_bounded() -> None:
    clock = Clock()
    store = MemoryStore(clock=clock, max_keys=100)
    for i in range(1000):
        store.take(f"k{i}", 1.0, 5)
        store.fail(f"k{i}", 5, 60, 100)
    assert len(store._buckets) <= 100 and len(store._failures) <= 100


@pytest.mark.redis
def test_redis_store_matches_the_arithmetic() -> None:
    if not REDIS_URL:
        pytest.skip("set TAILOR_TEST_REDIS_URL to run the Redis variant")
    import uuid

    prefix = f"tailor-test:{uuid.uuid4().hex}:"
    store = RedisStore(REDIS_URL, prefix=prefix)
    try:
        assert [store.take("k", 1.0, 3) for _ in range(3)] == [0, 0, 0]
        assert 0.9 < store.take("k", 1.0, 3) <= 1.0
        assert [store.fail("ip", 1, 60, 100) for _ in range(3)] == [0, 1, 2]
        assert 1.5 < store.blocked_for("ip") <= 2
        store.clear("ip")
        assert store.blocked_for("ip") == 0 and store.fail("ip", 1, 60, 100) == 0
    finally:
        store._redis.delete(prefix + "b:k", prefix + "f:ip")
        store.close()


def test_settings_reject_negative_limits(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="rate_limit_per_s"):
        Settings(home=tmp_path, rate_limit_per_s=-1)
