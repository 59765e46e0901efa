"""The app factory: ``create_app(settings)`` builds everything; nothing is built at import."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from tailor import __version__
from tailor.api import errors
from tailor.api.middleware import (
    BodyLimitMiddleware,
    HostCheckMiddleware,
    InputGuardMiddleware,
    RequestIdMiddleware,
    SecurityHeadersMiddleware,
    UnexpectedErrorMiddleware,
)
from tailor.api.ratelimit import RateLimiter
from tailor.api.routes import all_routers
from tailor.bootstrap import Runtime, build_runtime
from tailor.config import Settings


def create_app(settings: Settings, runtime: Runtime | None = None, *, migrate: bool = True) -> FastAPI:
    """Build the API app. Pass ``runtime`` to share stores with the caller (tests, ``tailor serve``)."""
    rt = runtime or build_runtime(settings, migrate=migrate)
    owns_runtime = runtime is None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        if owns_runtime:
            rt.close()

    app = FastAPI(
        title="Tailor",
        version=__version__,
        description="Self-hosted tailored generation on FIBO, compatible with Bria's API.",
        lifespan=lifespan,
        docs_url=None,  # served by routes/docs.py from local assets (FastAPI's page loads a CDN)
        redoc_url=None,
    )
    app.state.runtime = rt
    app.state.rate_limiter = RateLimiter.from_settings(settings)
    errors.install(app)

    def body_limit(path: str) -> int:
        if path.endswith("/bulk-upload"):
            return settings.max_zip_bytes
        return settings.max_request_bytes

    # Added innermost first; outermost first they run: security headers, unexpected errors,
    # metrics, request id, host check, body limit, input rules (see api/middleware.py).
    app.add_middleware(InputGuardMiddleware)
    app.add_middleware(BodyLimitMiddleware, limit_for=body_limit)
    app.add_middleware(
        HostCheckMiddleware, allowed=settings.allowed_host_names(), exempt=frozenset({"/health", "/metrics"})
    )
    app.add_middleware(RequestIdMiddleware)
    from tailor.api.routes import metrics as metrics_route

    metrics_route.install(app)
    app.add_middleware(UnexpectedErrorMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)  # outermost: every answer gets the headers
    for router in all_routers():
        app.include_router(router)
    return app
