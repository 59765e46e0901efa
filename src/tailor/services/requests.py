"""v2 requests: create a request and its job in one transaction; describe its status as clients see it."""

from __future__ import annotations

import dataclasses
import secrets
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from tailor.domain.enums import JobState, RequestStatus
from tailor.domain.errors import InvalidInput
from tailor.domain.jobs import DELIVER_WEBHOOK, DeliverWebhook, JobKind
from tailor.domain.signing import LinkSigner
from tailor.infra.safe_fetch import check_public_url
from tailor.jobs.queue import JobQueue, enqueue
from tailor.services import quotas
from tailor.services.queue_status import queue_body
from tailor.store import requests as request_store
from tailor.store.orgs import Principal
from tailor.store.tables import GenerationRequest, Job

P = TypeVar("P")


def new_request_id() -> str:
    """An opaque, unguessable request id."""
    return secrets.token_hex(16)


def check_webhook_url(url: str, *, allow_private: bool | None) -> None:
    """Refuse a webhook URL that is not http(s) (always) or that reaches a private network
    (when ``allow_private`` is given; delivery checks it again in any case)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port out of range
    except ValueError as e:
        raise InvalidInput(f"not a valid URL: {e}", field="webhook_url") from e
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("must be an http or https URL", field="webhook_url")
    if len(url) > 2048:
        raise InvalidInput("must be at most 2048 characters", field="webhook_url")
    if allow_private is not None:
        check_public_url(url, allow_private=allow_private, field="webhook_url")


def schedule_webhook(session: Session, job: Job) -> None:
    """Terminal hook: queue the webhook of the request ``job`` served, if it has one and it is due."""
    req = request_store.take_pending_webhook(session, job.id)
    if req is not None:
        enqueue(
            session,
            DELIVER_WEBHOOK,
            DeliverWebhook(request_id=req.request_id),
            organization_id=req.organization_id,
        )


def create_request(
    session: Session,
    principal: Principal,
    *,
    endpoint: str,
    kind: JobKind[P],
    payload: P,
    webhook_url: str | None,
    allow_private_urls: bool | None = None,
    max_active: int,
) -> GenerationRequest:
    """Add a ``requests`` row and its job in the caller's transaction.

    ``allow_private_urls`` (pass ``settings.allow_private_urls``) enables the full address check of
    ``webhook_url`` at submit time; without it only the URL's form is checked now, and the address
    is checked when the webhook is delivered. ``max_active`` (pass
    ``settings.org_max_active_jobs``) is the organization's quota of active requests (0: none).
    """
    if webhook_url:
        check_webhook_url(webhook_url, allow_private=allow_private_urls)
    quotas.check(session, principal.organization_id, quotas.ACTIVE_REQUESTS, max_active)
    job = enqueue(session, kind, payload, organization_id=principal.organization_id)
    return request_store.add_request(
        session,
        request_id=new_request_id(),
        organization_id=principal.organization_id,
        token_id=principal.token_id,
        endpoint=endpoint,
        job_id=job.id,
        webhook_url=webhook_url or None,
    )


@dataclass(frozen=True)
class RequestView:
    """A request's state in v2 terms; ``result`` holds blob keys (rendered to URLs by the API)."""

    request_id: str
    status: RequestStatus
    result: dict[str, Any] | None = None
    error_code: int | None = None
    error_message: str | None = None
    progress: dict[str, Any] | None = None
    job_state: str | None = None
    queue: dict[str, Any] | None = None  # where the job stands while IN_PROGRESS (queue_status.py)

    @property
    def terminal(self) -> bool:
        return self.status != RequestStatus.IN_PROGRESS


def view_of(req: GenerationRequest, job: Job | None) -> RequestView:
    """Map a job's state to the v2 status: queued/running -> IN_PROGRESS, and so on."""
    if job is None:
        return RequestView(req.request_id, RequestStatus.UNKNOWN)
    state = job.state
    if state in (JobState.queued, JobState.running):
        return RequestView(req.request_id, RequestStatus.IN_PROGRESS, progress=job.progress, job_state=state)
    if state == JobState.completed:
        return RequestView(req.request_id, RequestStatus.COMPLETED, result=job.result or {}, job_state=state)
    if state == JobState.cancelled:
        return RequestView(
            req.request_id, RequestStatus.ERROR, error_code=409, error_message="cancelled", job_state=state
        )
    return RequestView(
        req.request_id,
        RequestStatus.ERROR,
        error_code=job.error_code or 500,
        error_message=job.error or "the request failed",
        job_state=state,
    )


def get_view(
    session: Session, organization_id: int, request_id: str, *, worker_timeout_s: float | None = None
) -> RequestView | None:
    """The organization's request as a view, or None when unknown (or another organization's).

    With ``worker_timeout_s`` (pass ``settings.heartbeat_timeout_s``) an unfinished request's view
    also says where its job stands in the queue."""
    found = request_store.get_request_with_job(session, organization_id, request_id)
    if found is None:
        return None
    view = view_of(*found)
    if worker_timeout_s is not None and not view.terminal:
        view = dataclasses.replace(view, queue=queue_body(session, found[1], worker_timeout_s))
    return view


def cancel_request(
    session: Session, organization_id: int, request_id: str, queue: JobQueue
) -> RequestView | None:
    """Ask the organization's request to stop: a queued job ends at once, a running one at its next
    progress report (between denoising steps). Returns the request's view afterwards, or None."""
    found = request_store.get_request_with_job(session, organization_id, request_id)
    if found is None:
        return None
    job = found[1]
    session.commit()  # end this transaction before the queue takes its own write lock (SQLite)
    if job is not None:
        queue.cancel(job.id)
    session.expire_all()
    return get_view(session, organization_id, request_id)


def render_result(result: dict[str, Any] | None, base_url: str, signer: LinkSigner) -> dict[str, Any]:
    """A job result as clients see it: ``<x>_key`` -> signed ``<x>_url`` (``<x>_keys`` -> ``<x>_urls``)."""
    out: dict[str, Any] = {}
    for name, value in (result or {}).items():
        if name.endswith("_key") and isinstance(value, str):
            out[name[: -len("_key")] + "_url"] = f"{base_url}{signer.path(value)}"
        elif name.endswith("_keys") and isinstance(value, list):
            out[name[: -len("_keys")] + "_urls"] = [f"{base_url}{signer.path(k)}" for k in value]
        else:
            out[name] = value
    return out


def status_body(view: RequestView, base_url: str, signer: LinkSigner) -> dict[str, Any]:
    """The body of ``GET /v2/status/{id}`` (also what webhooks and the event stream carry)."""
    body: dict[str, Any] = {"status": view.status.value, "request_id": view.request_id}
    if view.status == RequestStatus.COMPLETED:
        body["result"] = render_result(view.result, base_url, signer)
    elif view.status == RequestStatus.ERROR:
        body["error"] = {
            "code": view.error_code or 500,
            "message": view.error_message or "the request failed",
            "details": "",
        }
    elif view.status == RequestStatus.UNKNOWN:
        body["error"] = {"code": 500, "message": "the request's job record is missing", "details": ""}
    else:
        if view.progress:
            body["progress"] = view.progress
        if view.queue:
            body["queue"] = view.queue
    return body


def status_url(base_url: str, request_id: str) -> str:
    return f"{base_url}/v2/status/{request_id}"
