"""Server-sent events from polled state: emit an event whenever a snapshot changes, stop at the end.

Reusable for any progress stream (requests, model training): give :func:`poll_events` an async
``snapshot()`` that returns ``(data, finished)``; each distinct ``data`` is sent once as a JSON event,
a comment keeps idle connections alive, and the stream ends after the first finished snapshot.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no", "Connection": "keep-alive"}

Snapshot = Callable[[], Awaitable[tuple[dict[str, Any], bool]]]


def format_event(data: dict[str, Any], *, event: str | None = None, event_id: int | None = None) -> str:
    """One SSE message: optional ``id:`` and ``event:`` lines, then ``data:`` (compact JSON)."""
    lines = []
    if event_id is not None:
        lines.append(f"id: {event_id}")
    if event:
        lines.append(f"event: {event}")
    lines.append("data: " + json.dumps(data, separators=(",", ":"), sort_keys=True))
    return "\n".join(lines) + "\n\n"


async def poll_events(
    snapshot: Snapshot,
    *,
    event: str = "status",
    interval_s: float = 0.25,
    keepalive_s: float = 15.0,
    max_duration_s: float = 24 * 3600,
    is_disconnected: Callable[[], Awaitable[bool]] | None = None,
) -> AsyncIterator[str]:
    """Yield SSE messages for each change of ``snapshot()``; end when it reports ``finished``."""
    last: str | None = None
    last_sent = time.monotonic()
    started = last_sent
    n = 0
    yield "retry: 2000\n\n"
    while True:
        data, finished = await snapshot()
        encoded = json.dumps(data, sort_keys=True)
        if encoded != last:
            n += 1
            last = encoded
            last_sent = time.monotonic()
            yield format_event(data, event=event, event_id=n)
        elif time.monotonic() - last_sent >= keepalive_s:
            last_sent = time.monotonic()
            yield ": keep-alive\n\n"
        if finished or time.monotonic() - started > max_duration_s:
            return
        if is_disconnected is not None and await is_disconnected():
            return
        await asyncio.sleep(interval_s)
