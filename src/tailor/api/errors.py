"""The one mapping from errors to HTTP: ``{"error": {code, message, details}, "request_id"}``."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from tailor.domain.errors import RateLimited, TailorError

log = logging.getLogger("tailor.api")

# On every answer unless the route set its own: no MIME sniffing, no framing, no Referer (file links
# carry their signature in the query string). ``middleware.SecurityHeadersMiddleware`` adds them.
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)


def request_id_of(request: Request) -> str:
    return getattr(request.state, "request_id", "") or ""


def error_body(status: int, message: str, details: str | None, request_id: str) -> dict[str, Any]:
    """The one error shape; also written by the ASGI middlewares, which answer before routing."""
    return {
        "error": {"code": status, "message": message, "details": details or ""},
        "request_id": request_id,
    }


def error_response(
    request: Request,
    status: int,
    message: str,
    details: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = error_body(status, message, details, request_id_of(request))
    # 500s are answered outside every middleware (Starlette's ServerErrorMiddleware): set them here too
    security = {k.decode(): v.decode() for k, v in SECURITY_HEADERS}
    return JSONResponse(body, status_code=status, headers={**security, **(headers or {})})


_UNION_TAGS = {"str", "int", "float", "bool", "dict", "list", "none", "json-or-python"}


def _field_path(loc: tuple[Any, ...]) -> str:
    """The field's dotted name: the request part and pydantic's union-member tags (``str``,
    ``function-before[...]``, ``literal['best']``) left out."""
    parts = [
        str(p)
        for p in loc
        if p not in ("body", "query", "path", "header", "form")
        and not (isinstance(p, str) and ("[" in p or p in _UNION_TAGS))
    ]
    return ".".join(parts) or "body"


def describe_validation(errors: list[dict[str, Any]]) -> tuple[str, str]:
    """A message naming the first offending field and rule, and the full list as details."""
    msgs = []
    for e in errors:
        field = _field_path(tuple(e.get("loc", ())))
        rule = e.get("msg", "invalid").removeprefix("Value error, ")
        msgs.append(f"{field}: {rule}")
    return (msgs[0] if msgs else "invalid request"), "; ".join(msgs)


_RANGE_ERRORS = ("greater_than_equal", "less_than_equal", "int_parsing_size")


def unknown_path_id(errors: list[dict[str, Any]]) -> str | None:
    """A path id outside the ids that can exist (see ``schemas.common.Id``) names nothing: the
    message of a 404, like any other unknown id. Malformed path ids stay 400."""
    for e in errors:
        loc = tuple(e.get("loc", ()))
        if len(loc) == 2 and loc[0] == "path" and e.get("type") in _RANGE_ERRORS:
            value = str(e.get("input"))
            return f"{loc[1]} {value if len(value) <= 40 else value[:37] + '...'} not found"
    return None


def install(app: FastAPI) -> None:
    @app.exception_handler(TailorError)
    async def _tailor_error(request: Request, exc: TailorError) -> JSONResponse:
        message = exc.message
        if exc.field and exc.field not in message:
            message = f"{exc.field}: {message}"
        if exc.status >= 500:
            log.error("request %s failed: %s", request_id_of(request), message)
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
        return error_response(request, exc.status, message, exc.details, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        not_found = unknown_path_id(errors)
        if not_found is not None:
            return error_response(request, 404, not_found)
        message, details = describe_validation(errors)
        return error_response(request, 400, message, details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error_response(request, exc.status_code, str(exc.detail), headers=exc.headers)

    # Any other exception: ``middleware.UnexpectedErrorMiddleware`` answers 500 in this shape (a
    # handler registered here for Exception would run in Starlette's outermost layer, which
    # re-raises, and the server would then drop the keep-alive connection).
