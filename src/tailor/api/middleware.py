"""ASGI middleware: request ids, a 500 for unexpected errors that keeps the connection open,
request-body size limits (413 before the body is read), the input rules of ``input_guard``, the
Host check (``TAILOR_ALLOWED_HOSTS``) and the security headers every answer carries.

Order, outermost first (``app.create_app``): ``SecurityHeadersMiddleware``,
``UnexpectedErrorMiddleware``, metrics, ``RequestIdMiddleware``, ``HostCheckMiddleware``,
``BodyLimitMiddleware``, ``InputGuardMiddleware``, then FastAPI.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Callable, Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tailor.api import input_guard
from tailor.api.errors import SECURITY_HEADERS, error_body
from tailor.domain.errors import TooLarge

log = logging.getLogger("tailor.api")


def _request_id(scope: Scope) -> str:
    return str(scope.get("state", {}).get("request_id", ""))


async def send_error(
    send: Send,
    scope: Scope,
    status: int,
    message: str,
    details: str = "",
    headers: Sequence[tuple[bytes, bytes]] = (),
) -> None:
    """Answer with the one error shape from ASGI middleware (before or outside routing)."""
    payload = error_body(status, message, details, _request_id(scope))
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class UnexpectedErrorMiddleware:
    """An exception no handler took answers 500 in the one error shape, and is not re-raised:
    servers close the connection on an exception that leaves the app, and a client's bad request
    must not cost it (or a proxy) its keep-alive connection. If the response had already started,
    there is no honest way to finish it, and the exception goes on (the connection is closed)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            rid = _request_id(scope)
            log.exception("unexpected error in request %s", rid, exc_info=exc)
            if started:
                raise
            headers = [(b"x-request-id", rid.encode())] if rid else []
            await send_error(send, scope, 500, "internal server error", headers=headers)


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
        await send_error(send, scope, 413, f"request body too large: the limit is {limit} bytes")

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


class InputGuardMiddleware:
    """Applies ``input_guard``'s rules to the URL and to every body the app may read as JSON,
    once, before routing: 400 naming the field and the rule. Forms are left to
    ``input_guard.read_form`` (they may be large uploads; JSON bodies are read whole anyway).
    Sits inside ``BodyLimitMiddleware``, so a body is only buffered once it is known to fit."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problem = input_guard.url_problem(scope.get("path", ""), scope.get("query_string", b""))
        if problem is not None:
            await send_error(send, scope, 400, f"{problem[0]}: {problem[1]}")
            return
        content_type = ""
        for name, value in scope.get("headers", []):
            if name == b"content-type":
                content_type = value.decode("latin-1")
        if scope.get("method") in ("GET", "HEAD", "OPTIONS") or not input_guard.is_json_candidate(
            content_type
        ):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        problem = input_guard.json_problem(body)
        if problem is not None:
            await send_error(send, scope, 400, f"{problem[0]}: {problem[1]}")
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


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
                await send_error(send, scope, 400, f"Host header: {value!r} is not a valid host")
                return
            host = (m.group("ip6") or m.group("name")).lower()
            if not host_allowed(host, self.allowed):
                await send_error(
                    send,
                    scope,
                    400,
                    f"Host header: {host!r} is not an allowed host; add it to TAILOR_ALLOWED_HOSTS "
                    "(or set TAILOR_PUBLIC_URL to the address clients use)",
                )
                return
        await self.app(scope, receive, send)


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
