"""v2 requests (``requests`` table): an opaque ``request_id`` over one job, and its webhook state."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tailor.store.tables import GenerationRequest, Job


class WebhookState:
    """Values of ``requests.webhook_state``."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


def add_request(
    session: Session,
    *,
    request_id: str,
    organization_id: int,
    token_id: int | None,
    endpoint: str,
    job_id: int,
    webhook_url: str | None,
) -> GenerationRequest:
    req = GenerationRequest(
        request_id=request_id,
        organization_id=organization_id,
        token_id=token_id,
        endpoint=endpoint,
        job_id=job_id,
        webhook_url=webhook_url,
        webhook_attempts=0,
    )
    session.add(req)
    session.flush()
    return req


def get_request(session: Session, organization_id: int, request_id: str) -> GenerationRequest | None:
    """The organization's request with this id (another organization's reads as missing)."""
    return session.scalar(
        select(GenerationRequest).where(
            GenerationRequest.request_id == request_id,
            GenerationRequest.organization_id == organization_id,
        )
    )


def get_request_any(session: Session, request_id: str) -> GenerationRequest | None:
    """A request by id regardless of organization (workers only)."""
    return session.scalar(select(GenerationRequest).where(GenerationRequest.request_id == request_id))


def get_request_with_job(
    session: Session, organization_id: int, request_id: str
) -> tuple[GenerationRequest, Job | None] | None:
    req = get_request(session, organization_id, request_id)
    if req is None:
        return None
    job = session.get(Job, req.job_id) if req.job_id is not None else None
    return req, job


def take_pending_webhook(session: Session, job_id: int) -> GenerationRequest | None:
    """The request served by ``job_id`` whose webhook is not scheduled yet; marks it pending."""
    req = session.scalar(
        select(GenerationRequest).where(
            GenerationRequest.job_id == job_id,
            GenerationRequest.webhook_url.is_not(None),
            GenerationRequest.webhook_state.is_(None),
        )
    )
    if req is not None:
        req.webhook_state = WebhookState.PENDING
        session.flush()
    return req
