"""Limits on outbound HTTP work: a hard wall-clock deadline for one exchange, and a cap on how many
fetches one tenant (and the whole process) may have in flight.

``Watchdog`` is handed to httpcore as the request's ``trace`` extension: it learns of every socket
the exchange opens, and when the deadline passes it shuts those sockets down, which wakes any read
or write blocked on them (a ``close`` from another thread does not). No connect, TLS handshake,
header wait or slow-drip body can outlive the deadline, whatever the per-read timeouts allow.

``OutboundSlots`` bounds concurrent fetches per key (an organization) and in total; a fetch that
finds no free slot is refused at once (429 with ``Retry-After``), so a tenant with a slow server can
neither hold every thread of the API process nor delay other tenants.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tailor.domain.errors import RateLimited


class Watchdog:
    """Shuts down an exchange's sockets once ``seconds`` have passed (see the module docstring)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._streams: list[Any] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    def __enter__(self) -> Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._timer.cancel()

    def trace(self, event_name: str, info: dict[str, Any]) -> None:
        """httpcore's trace hook: remember every network stream the exchange opens."""
        if event_name not in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
            return
        stream = info.get("return_value")
        if stream is None:
            return
        with self._lock:
            self._streams.append(stream)
            expired = self.expired
        if expired:
            _shutdown(stream)

    def _fire(self) -> None:
        with self._lock:
            self.expired = True
            streams = list(self._streams)
        for stream in streams:
            _shutdown(stream)


def _shutdown(stream: Any) -> None:
    sock = stream.get_extra_info("socket")
    if sock is None:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:  # already closed
        pass


class OutboundSlots:
    """At most ``per_key`` concurrent fetches per key and ``total`` in all (0: no limit)."""

    def __init__(self, per_key: int, total: int) -> None:
        self.per_key = per_key
        self.total = total
        self._lock = threading.Lock()
        self._by_key: dict[object, int] = {}
        self._all = 0

    @contextmanager
    def slot(self, key: object, *, field: str) -> Iterator[None]:
        with self._lock:
            if (self.per_key and self._by_key.get(key, 0) >= self.per_key) or (
                self.total and self._all >= self.total
            ):
                raise RateLimited(
                    "too many URL fetches in progress for this organization; retry shortly",
                    field=field,
                    retry_after_s=1,
                )
            self._by_key[key] = self._by_key.get(key, 0) + 1
            self._all += 1
        try:
            yield
        finally:
            with self._lock:
                self._all -= 1
                left = self._by_key[key] - 1
                if left:
                    self._by_key[key] = left
                else:
                    del self._by_key[key]
