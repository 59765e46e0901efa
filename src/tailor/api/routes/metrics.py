"""``/metrics`` in Prometheus text format, and the middleware that counts HTTP requests.

HTTP figures are this API process's own (counter and histogram per route template and status).
Queue, job and worker figures are read from the database at scrape time, so they are right however
many API and worker processes share it. They cover every organization, so the endpoint is guarded:
with ``TAILOR_METRICS_TOKEN`` set it needs ``Authorization: Bearer <that token>``; without it only
loopback clients are answered (behind a reverse proxy on the same host, uvicorn takes the client from
``X-Forwarded-For``; set the token anyway).
"""

from __future__ import annotations

import hmac
import ipaddress
import time
from collections.abc import Iterator
from datetime import UTC, datetime

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, SummaryMetricFamily
from prometheus_client.registry import Collector
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tailor.api.deps import RuntimeDep
from tailor.bootstrap import Runtime
from tailor.domain.enums import TERMINAL_JOB_STATES, JobState
from tailor.domain.errors import Forbidden
from tailor.store import jobs as job_store

router = APIRouter(tags=["Service"])

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


class HttpMetrics:
    """The HTTP counters of one app (own registry: several apps may live in one process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "tailor_http_requests",
            "HTTP requests by method, route template and status code.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "tailor_http_request_duration_seconds",
            "HTTP request latency by method and route template.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )


class MetricsMiddleware:
    """Counts each HTTP request under its route template (``/v2/status/{request_id}``)."""

    def __init__(self, app: ASGIApp, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "<unmatched>"
            method = scope.get("method", "")
            self.metrics.requests.labels(method, template, str(status)).inc()
            self.metrics.latency.labels(method, template).observe(time.perf_counter() - start)


def install(app: FastAPI) -> None:
    """Add the request-counting middleware to ``app`` (the ``/metrics`` route is in ROUTERS)."""
    metrics = HttpMetrics()
    app.state.http_metrics = metrics
    app.add_middleware(MetricsMiddleware, metrics=metrics)


class DatabaseCollector(Collector):
    """Queue depth and age, job outcomes and durations, live workers: read at scrape time."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily | SummaryMetricFamily]:
        settings = self.rt.settings
        with self.rt.sessions() as s:
            stats = job_store.queue_stats(s)
            durations = job_store.finished_durations(s)
            workers = job_store.live_workers(s, settings.heartbeat_timeout_s)
        now = datetime.now(UTC)
        depth = GaugeMetricFamily("tailor_queue_depth", "Jobs waiting to run, by kind.", labels=["kind"])
        age = GaugeMetricFamily(
            "tailor_queue_oldest_age_seconds", "Age of the oldest waiting job, by kind.", labels=["kind"]
        )
        running = GaugeMetricFamily("tailor_jobs_running", "Jobs being run, by kind.", labels=["kind"])
        finished = CounterMetricFamily(
            "tailor_jobs_finished", "Jobs that reached a terminal state.", labels=["kind", "outcome"]
        )
        for st in stats:
            if st.state == JobState.queued:
                depth.add_metric([st.kind], st.count)
                oldest = st.oldest_created_at
                age.add_metric([st.kind], max((now - oldest).total_seconds(), 0.0) if oldest else 0.0)
            elif st.state == JobState.running:
                running.add_metric([st.kind], st.count)
            elif st.state in TERMINAL_JOB_STATES:
                finished.add_metric([st.kind, st.state], st.count)
        duration = SummaryMetricFamily(
            "tailor_job_duration_seconds",
            "Run time of finished jobs (last attempt), by kind and outcome.",
            labels=["kind", "outcome"],
        )
        for d in durations:
            duration.add_metric([d.kind, d.state], count_value=d.count, sum_value=d.total_s)
        live = GaugeMetricFamily("tailor_workers_live", "Workers with a recent heartbeat.")
        live.add_metric([], len(workers))
        yield from (depth, age, running, finished, duration, live)


def is_loopback(host: str | None) -> bool:
    try:
        addr = ipaddress.ip_address(host or "")
    except ValueError:
        return False
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return addr.is_loopback


def check_scraper(request: Request, metrics_token: str | None) -> None:
    """401 without the right bearer token when one is configured; else 403 to non-loopback clients."""
    if metrics_token:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.strip().encode(), metrics_token.encode()
        ):
            raise HTTPException(
                401,
                "Authorization: /metrics needs 'Bearer <TAILOR_METRICS_TOKEN>'",
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
        return
    if not is_loopback(request.client.host if request.client else None):
        raise Forbidden(
            "/metrics answers loopback clients only; set TAILOR_METRICS_TOKEN to scrape it remotely"
        )


@router.get("/metrics", include_in_schema=True, summary="Prometheus metrics")
def metrics(request: Request, rt: RuntimeDep) -> Response:
    """Prometheus text exposition: ``Authorization: Bearer <TAILOR_METRICS_TOKEN>``, or from loopback
    when no metrics token is set (no api_token: the figures cover every organization)."""
    check_scraper(request, rt.settings.metrics_token)
    db_registry = CollectorRegistry()
    db_registry.register(DatabaseCollector(rt))
    body = generate_latest(db_registry)
    http: HttpMetrics | None = getattr(request.app.state, "http_metrics", None)
    if http is not None:
        body = generate_latest(http.registry) + body
    return Response(body, media_type=CONTENT_TYPE_LATEST)
