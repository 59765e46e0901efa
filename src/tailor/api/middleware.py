"""ASGI middleware: request ids, request-body size limits (413 before the body is read), the Host
check (``TAILOR_ALLOWED_HOSTS``) and the security headers every answer carries."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tailor.domain.errors import TooLarge


class RequestIdMiddleware:
    """Gives each request an id (``request.state.request_id``, header ``X-Request-Id``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append((b"x-request-id", rid.encode()))
            await send(message)

        await self.app(scope, receive, send_with_id)


class BodyLimitMiddleware:
    """Refuses bodies over a limit with 413: by Content-Length up front, and while streaming."""

    def __init__(self, app: ASGIApp, limit_for: Callable[[str], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def _reject(self, scope: Scope, send: Send, limit: int) -> None:
        rid = scope.get("state", {}).get("request_id", "")
        body = json.dumps(
            {
                "error": {
                    "code": 413,
                    "message": f"request body too large: the limit is {limit} bytes",
                    "details": "",
                },
                "request_id": rid,
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    if int(value) > limit:
                        await self._reject(scope, send, limit)
                        return
                except ValueError:
                    pass
        seen = 0
        overflow = False
        replaced = False

        async def limited_receive() -> Message:
            nonlocal seen, overflow
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    overflow = True
                    raise TooLarge(f"request body too large: the limit is {limit} bytes")
            return message

        async def guarded_send(message: Message) -> None:
            # Whatever the app answers after the body overflowed (a parser's 400, say) becomes 413.
            nonlocal replaced
            if overflow:
                if message["type"] == "http.response.start" and not replaced:
                    replaced = True
                    await self._reject(scope, send, limit)
                return
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except TooLarge:
            if not replaced:
                await self._reject(scope, send, limit)


async def send_error(scope: Scope, send: Send, status: int, message: str) -> None:
    """Answer with the one error shape from inside a middleware (before any route ran)."""
    rid = scope.get("state", {}).get("request_id", "")
    body = json.dumps(
        {"error": {"code": status, "message": message, "details": ""}, "request_id": rid}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


_HOST = re.compile(r"^(?:\[(?P<ip6>[0-9A-Fa-f:.]+)\]|(?P<name>[A-Za-z0-9._-]+))(?::\d{1,5})?$")


def host_allowed(host: str, allowed: list[str]) -> bool:
    """``host`` is a Host header's name part (lower case, IPv6 without brackets)."""
    for pattern in allowed:
        if pattern == "*" or pattern == host:
            return True
        if pattern.startswith("*.") and host.endswith(pattern[1:]):
            return True
    return False


class HostCheckMiddleware:
    """Answers 400 to a request whose Host header names a host not in ``allowed``.

    Links and ``status_url`` are built from the request's own URL when TAILOR_PUBLIC_URL is unset, so
    an unchecked Host would let a caller choose the address in them (and open the door to DNS
    rebinding). A request without a Host header passes: its base URL is the server's own address.
    ``exempt`` paths build no links and are probed by address (health checks, scrapers).
    """

    def __init__(self, app: ASGIApp, allowed: list[str], exempt: frozenset[str] = frozenset()) -> None:
        self.app = app
        self.allowed = allowed
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path", "") in self.exempt:
            await self.app(scope, receive, send)
            return
        raw = next((v for k, v in scope.get("headers", []) if k == b"host"), None)
        if raw is not None:
            value = raw.decode("latin-1")
            m = _HOST.match(value)
            if m is None:
                await send_error(scope, send, 400, f"Host header: {value!r} is not a valid host")
                return
            host = (m.group("ip6") or m.group("name")).lower()
            if not host_allowed(host, self.allowed):
                await send_error(
                    scope,
                    send,
                    400,
                    f"Host header: {host!r} is not an allowed host; add it to TAILOR_ALLOWED_HOSTS "
                    "(or set TAILOR_PUBLIC_URL to the address clients use)",
                )
                return
        await self.app(scope, receive, send)


# On every answer unless the route set its own: no MIME sniffing, no framing, no Referer (file links
# carry their signature in the query string).
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)


class SecurityHeadersMiddleware:
    """Adds :data:`SECURITY_HEADERS` to every HTTP answer, errors and middleware answers included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers.extend((k, v) for k, v in SECURITY_HEADERS if k not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
