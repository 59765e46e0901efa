"""FastAPI dependencies, as ``Annotated`` aliases: ``RuntimeDep``, ``SessionDep``, ``CurrentOrg``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader
from sqlalchemy.orm import Session

from tailor.api.ratelimit import RateLimiter
from tailor.bootstrap import Runtime
from tailor.domain.errors import InvalidInput, Unauthorized
from tailor.store import orgs
from tailor.store.db import read_only_connection, read_session
from tailor.store.orgs import Principal

_token_header = APIKeyHeader(name="api_token", auto_error=False, description="Your Tailor API token.")


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_session(request: Request, rt: RuntimeDep) -> Iterator[Session]:
    """One session per request; committed when the route returns, rolled back on error.

    Reads (GET/HEAD) run in a deferred transaction; other methods take SQLite's write lock at
    their first statement (see ``store.db``), so read-then-write use cases cannot fail half-way.
    """
    if request.method in ("GET", "HEAD"):
        conn = read_only_connection(rt.engine)
        session = Session(bind=conn, expire_on_commit=False)
    else:
        conn = None
        session = rt.sessions()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
        if conn is not None:
            conn.info.pop("sqlite_begin", None)
            conn.close()


SessionDep = Annotated[Session, Depends(get_session)]


def get_principal(
    request: Request, rt: RuntimeDep, token: Annotated[str | None, Depends(_token_header)]
) -> Principal:
    """The caller, or 401; 429 past the rate limits and the failed-authentication backoff."""
    limiter: RateLimiter | None = getattr(request.app.state, "rate_limiter", None)
    address = request.client.host if request.client else "unknown"
    if limiter is not None:
        limiter.check_address(address)
    if not token:
        if limiter is not None:
            limiter.unauthenticated(address)
        raise Unauthorized("missing api_token header")
    with read_session(rt.engine) as s:
        principal = orgs.authenticate(s, token)
    if principal is None:
        if limiter is not None:
            limiter.failed(address)
        raise Unauthorized("unknown or revoked api_token")
    if limiter is not None:
        limiter.authenticated(address, principal.token_id)
    return principal


CurrentOrg = Annotated[Principal, Depends(get_principal)]


BASE_URL_MAX = 500  # generation_requests.base_url is VARCHAR(500)


def base_url(request: Request, rt: RuntimeDep) -> str:
    """Where clients reach this server: TAILOR_PUBLIC_URL, or the request's own base URL (from
    its Host header, which must then keep it within BASE_URL_MAX characters)."""
    if rt.settings.public_url:
        return rt.settings.public_url.rstrip("/")
    url = str(request.base_url).rstrip("/")
    if len(url) > BASE_URL_MAX:
        raise InvalidInput(f"the Host header is too long (at most {BASE_URL_MAX} characters)", field="host")
    return url


BaseUrl = Annotated[str, Depends(base_url)]
