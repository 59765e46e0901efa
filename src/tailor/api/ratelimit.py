"""Request rate limits per API token and brute-force backoff per client address.

- **Rate limit**: a token bucket per API token (by token id) that holds ``TAILOR_RATE_LIMIT_BURST``
  requests and refills at ``TAILOR_RATE_LIMIT_PER_S``. Requests without a valid token (missing,
  unknown or revoked) draw from a bucket of their client address instead.
- **Backoff**: after ``TAILOR_AUTH_BACKOFF_AFTER`` failed authentications from one address, every
  further failure makes that address wait 1 s, 2 s, 4 s… (at most ``TAILOR_AUTH_BACKOFF_MAX_S``)
  before any request of it is looked at again. A successful authentication clears the count; so
  does ``TAILOR_AUTH_BACKOFF_RESET_S`` without a failure.

Over a limit the request answers 429 with ``Retry-After``. State lives in this process
(:class:`MemoryStore`), or in Redis (:class:`RedisStore`) when ``TAILOR_REDIS_URL`` is set, so
that every API process shares it. Redis being unreachable never fails a request: the limits are
skipped until it answers again.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from tailor.domain.errors import RateLimited

if TYPE_CHECKING:
    from tailor.config import Settings

log = logging.getLogger("tailor.api.ratelimit")


# --- the arithmetic (mirrored by the Lua scripts of RedisStore) ------------------------------------


def take_token(tokens: float, elapsed_s: float, rate: float, burst: int) -> tuple[float, float]:
    """Refill a bucket for ``elapsed_s`` and take one request from it.

    Returns the tokens left and the wait: 0 when the request may go, else the seconds until the
    bucket holds one token again (nothing is taken then).
    """
    tokens = min(float(burst), tokens + max(elapsed_s, 0.0) * rate)
    if tokens >= 1.0:
        return tokens - 1.0, 0.0
    return tokens, (1.0 - tokens) / rate


def backoff_wait(failures: int, free: int, max_s: float) -> float:
    """Seconds an address waits after its ``failures``-th failure: none for the first ``free``, then
    1, 2, 4… capped at ``max_s``."""
    if failures <= free:
        return 0.0
    return float(min(2.0 ** min(failures - free - 1, 62), max_s))


# --- where the state lives --------------------------------------------------------------------------


class LimitStore(Protocol):
    def take(self, key: str, rate: float, burst: int) -> float:
        """Take one request from ``key``'s bucket: 0 when allowed, else the seconds to wait."""

    def blocked_for(self, key: str) -> float:
        """Seconds ``key`` must still wait after its failures (0: not blocked)."""

    def fail(self, key: str, free: int, max_s: float, reset_s: float) -> float:
        """Count a failure of ``key``; returns the wait it now imposes (0: none)."""

    def clear(self, key: str) -> None:
        """Forget ``key``'s failures."""


class MemoryStore:
    """State in this process (thread-safe). At most ``max_keys`` buckets and ``max_keys`` failure
    records are kept; entries that no longer matter (full buckets, forgotten failures) go first."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000) -> None:
        self._clock = clock
        self._max_keys = max_keys
        self._lock = threading.Lock()
        # key -> (tokens, at, full_at)
        self._buckets: OrderedDict[str, tuple[float, float, float]] = OrderedDict()
        # key -> (failures, blocked_until, forget_at)
        self._failures: OrderedDict[str, tuple[int, float, float]] = OrderedDict()

    def take(self, key: str, rate: float, burst: int) -> float:
        with self._lock:
            now = self._clock()
            tokens, at, _ = self._buckets.get(key, (float(burst), now, now))
            tokens, wait = take_token(tokens, now - at, rate, burst)
            self._buckets[key] = (tokens, now, now + (burst - tokens) / rate)
            self._buckets.move_to_end(key)
            self._prune(self._buckets, now)
            return wait

    def blocked_for(self, key: str) -> float:
        with self._lock:
            entry = self._failures.get(key)
            return max(0.0, entry[1] - self._clock()) if entry else 0.0

    def fail(self, key: str, free: int, max_s: float, reset_s: float) -> float:
        with self._lock:
            now = self._clock()
            failures, _, forget_at = self._failures.get(key, (0, now, now))
            if now >= forget_at:
                failures = 0
            failures += 1
            wait = backoff_wait(failures, free, max_s)
            self._failures[key] = (failures, now + wait, now + wait + reset_s)
            self._failures.move_to_end(key)
            self._prune(self._failures, now)
            return wait

    def clear(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)

    def _prune(self, entries: OrderedDict[str, Any], now: float) -> None:
        if len(entries) <= self._max_keys:
            return
        for key in [k for k, v in entries.items() if v[-1] <= now]:
            del entries[key]
        while len(entries) > self._max_keys * 9 // 10:
            entries.popitem(last=False)  # least recently touched


# KEYS[1] bucket; ARGV rate, burst. Same arithmetic as take_token, on Redis's clock.
_TAKE = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local v = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(v[1]) or burst
local at = tonumber(v[2]) or now
tokens = math.min(burst, tokens + math.max(now - at, 0) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate * 1000) + 1000)
return tostring(wait)
"""

# KEYS[1] failures; ARGV free, max_s, reset_s. Same arithmetic as backoff_wait; the key expires
# reset_s after the wait it imposes, which forgets the failures.
_FAIL = """
local free = tonumber(ARGV[1])
local max_s = tonumber(ARGV[2])
local reset_s = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
local wait = 0
if failures > free then wait = math.min(2 ^ math.min(failures - free - 1, 62), max_s) end
redis.call('HSET', KEYS[1], 'until', tostring(now + wait))
redis.call('PEXPIRE', KEYS[1], math.ceil((wait + reset_s) * 1000))
return tostring(wait)
"""

_BLOCKED = """
local v = redis.call('HGET', KEYS[1], 'until')
if not v then return '0' end
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
return tostring(math.max(tonumber(v) - now, 0))
"""


class RedisStore:
    """State in Redis, shared by every API process; each operation is one atomic script on Redis's
    clock. If Redis cannot be reached the operation allows the request (and logs, at most once a
    minute): limits must never take the API down."""

    def __init__(self, url: str, prefix: str = "tailor:ratelimit:") -> None:
        try:
            import redis
        except ImportError as e:
            raise RuntimeError(
                "TAILOR_REDIS_URL is set but the redis package is not installed: pip install 'tailor[redis]'"
            ) from e

        self._errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)
        self._redis = redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
        self._prefix = prefix
        self._take = self._redis.register_script(_TAKE)
        self._fail = self._redis.register_script(_FAIL)
        self._blocked = self._redis.register_script(_BLOCKED)
        self._warned_at = -1e9

    def _run(self, call: Callable[[], Any]) -> float:
        try:
            return float(call())
        except self._errors as e:
            now = time.monotonic()
            if now - self._warned_at > 60:
                self._warned_at = now
                log.warning("rate limits skipped: Redis did not answer (%s)", e)
            return 0.0

    def take(self, key: str, rate: float, burst: int) -> float:
        return self._run(lambda: self._take(keys=[self._prefix + "b:" + key], args=[rate, burst]))

    def blocked_for(self, key: str) -> float:
        return self._run(lambda: self._blocked(keys=[self._prefix + "f:" + key]))

    def fail(self, key: str, free: int, max_s: float, reset_s: float) -> float:
        return self._run(lambda: self._fail(keys=[self._prefix + "f:" + key], args=[free, max_s, reset_s]))

    def clear(self, key: str) -> None:
        self._run(lambda: self._redis.delete(self._prefix + "f:" + key))

    def close(self) -> None:
        self._redis.close()


# --- the policy -------------------------------------------------------------------------------------


class RateLimiter:
    """What ``get_principal`` asks before and after it looks a token up."""

    def __init__(
        self,
        store: LimitStore,
        *,
        per_s: float,
        burst: int,
        backoff_after: int,
        backoff_max_s: float,
        backoff_reset_s: float,
    ) -> None:
        self.store = store
        self.per_s = per_s
        self.burst = burst
        self.backoff_after = backoff_after
        self.backoff_max_s = backoff_max_s
        self.backoff_reset_s = backoff_reset_s

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimiter:
        store: LimitStore
        if settings.redis_url:
            # Keys carry the metadata database's identity: deployments may share one Redis.
            ns = hashlib.sha256(settings.resolved_database_url.encode()).hexdigest()[:12]
            store = RedisStore(settings.redis_url, prefix=f"tailor:ratelimit:{ns}:")
        else:
            store = MemoryStore()
        return cls(
            store,
            per_s=settings.rate_limit_per_s,
            burst=settings.rate_limit_burst,
            backoff_after=settings.auth_backoff_after,
            backoff_max_s=settings.auth_backoff_max_s,
            backoff_reset_s=settings.auth_backoff_reset_s,
        )

    @property
    def limits_rate(self) -> bool:
        return self.per_s > 0 and self.burst > 0

    @property
    def backs_off(self) -> bool:
        return self.backoff_after > 0

    def _rule(self) -> str:
        return f"the limit is {self.per_s:g} requests per second, in bursts of up to {self.burst}"

    def check_address(self, address: str) -> None:
        """Before any token is looked at: refuse an address that is waiting after its failures."""
        if not self.backs_off:
            return
        wait = self.store.blocked_for("ip:" + address)
        if wait > 0:
            raise RateLimited(
                f"too many failed authentications from this address: retry after {_secs(wait)} s",
                retry_after_s=wait,
            )

    def unauthenticated(self, address: str) -> None:
        """A request without a token: it draws from its address's bucket."""
        if self.limits_rate:
            wait = self.store.take("ip:" + address, self.per_s, self.burst)
            if wait > 0:
                raise RateLimited(
                    f"too many requests without a valid api_token from this address: {self._rule()}",
                    retry_after_s=wait,
                )

    def failed(self, address: str) -> None:
        """A token that is unknown or revoked: count the failure, then charge the address."""
        if self.backs_off:
            wait = self.store.fail(
                "ip:" + address, self.backoff_after, self.backoff_max_s, self.backoff_reset_s
            )
            if wait > 0:
                raise RateLimited(
                    f"too many failed authentications from this address: retry after {_secs(wait)} s",
                    retry_after_s=wait,
                )
        self.unauthenticated(address)

    def authenticated(self, address: str, token_id: int) -> None:
        """A valid token: clear the address's failures and charge the token's bucket."""
        if self.backs_off:
            self.store.clear("ip:" + address)
        if self.limits_rate:
            wait = self.store.take(f"token:{token_id}", self.per_s, self.burst)
            if wait > 0:
                raise RateLimited(f"too many requests for this api_token: {self._rule()}", retry_after_s=wait)


def _secs(wait: float) -> int:
    return max(1, math.ceil(wait))
