"""Signed webhooks: kind ``DELIVER_WEBHOOK`` POSTs a request's terminal status body to its ``webhook_url``.

Headers: ``Bria-Webhook-Id`` (the request id), ``Bria-Webhook-Timestamp`` (unix seconds) and
``Bria-Webhook-Signature: v1=<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>``, where the key is
HMAC-SHA256(key=api_token, msg="bria-webhook-signing-v1") (kept sealed under the server secret in
``api_tokens.webhook_key_sealed``, see ``store.orgs``).
A failed delivery (network error, non-2xx answer) is an upstream outage, retried by the kind's policy
(``settings.webhook_max_attempts`` attempts, jittered backoff from ``webhook_retry_backoff_s`` up to an
hour); every attempt carries the same ``Bria-Webhook-Id`` so receivers can de-duplicate. The URL is
checked (public addresses only, unless ``allow_private_urls``) and the connection pinned to the
checked address at every attempt.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
from typing import Any

import httpx
from sqlalchemy.orm import Session

from tailor.domain.errors import TailorError, UpstreamUnavailable
from tailor.domain.jobs import DeliverWebhook, PermanentJobError
from tailor.domain.signing import UrlSigner
from tailor.infra.outbound import Watchdog
from tailor.infra.safe_fetch import checked_address
from tailor.jobs.context import JobContext
from tailor.services.requests import status_body, view_of
from tailor.store import requests as request_store
from tailor.store.db import immediate_transaction
from tailor.store.orgs import webhook_key_for
from tailor.store.requests import WebhookState
from tailor.store.tables import Job

log = logging.getLogger(__name__)

USER_AGENT = "Tailor-Webhooks/1"


def sign(webhook_key_hex: str, webhook_id: str, timestamp: str, body: bytes) -> str:
    """The ``Bria-Webhook-Signature`` header value for ``body``."""
    message = f"{webhook_id}.{timestamp}.{body.decode()}".encode()
    mac = hmac.new(bytes.fromhex(webhook_key_hex), message, hashlib.sha256).digest()
    return "v1=" + base64.b64encode(mac).decode()


def _set_state(ctx: JobContext, request_id: str, state: str | None) -> None:
    with immediate_transaction(ctx.engine) as s:
        req = request_store.get_request_any(s, request_id)
        if req is not None:
            req.webhook_attempts = (req.webhook_attempts or 0) + 1
            if state is not None:
                req.webhook_state = state


def _post_pinned(
    url: str, body: bytes, headers: dict[str, str], *, allow_private: bool, timeout_s: float
) -> int:
    """POST to ``url`` at the address that passed the public-address check; returns the status code.
    The whole exchange ends within ``timeout_s`` (a hard deadline); the answer's body is not read."""
    _scheme, host, _port, addr = checked_address(url, allow_private=allow_private, field="webhook_url")
    parts = httpx.URL(url)
    pinned = parts.copy_with(host=str(addr))
    host_header = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        host_header = f"{host_header}:{parts.port}"
    with (
        Watchdog(timeout_s) as watchdog,
        httpx.Client(timeout=timeout_s, follow_redirects=False, trust_env=False) as client,
    ):
        request = client.build_request(
            "POST",
            pinned,
            content=body,
            headers={**headers, "Host": host_header},
            extensions={"sni_hostname": host, "trace": watchdog.trace},
        )
        response = client.send(request, stream=True)
        response.close()
        return response.status_code


def deliver_webhook(ctx: JobContext, payload: DeliverWebhook) -> dict[str, Any]:
    """Deliver one request's terminal status to its webhook."""
    settings = ctx.settings
    request_id = payload.request_id
    with ctx.sessions() as s:
        req = request_store.get_request_any(s, request_id)
        if req is None or not req.webhook_url:
            raise PermanentJobError(f"request {request_id} has no webhook to deliver")
        job = s.get(Job, req.job_id) if req.job_id is not None else None
        key = (
            None
            if req.token_id is None
            else webhook_key_for(s, req.token_id, secret=settings.resolved_secret_key())
        )
        view = view_of(req, job)
        url = req.webhook_url
        base_url = req.base_url or settings.public_url or f"http://{settings.host}:{settings.port}"
    if key is None:
        _set_state(ctx, request_id, WebhookState.FAILED)
        raise PermanentJobError("the API token of the request no longer exists; webhook not signed")
    signer = UrlSigner(settings.resolved_secret_key(), settings.signed_url_ttl_s).bound(req.token_id)
    body = json.dumps(status_body(view, base_url.rstrip("/"), signer), separators=(",", ":")).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Bria-Webhook-Id": request_id,
        "Bria-Webhook-Timestamp": timestamp,
        "Bria-Webhook-Signature": sign(key, request_id, timestamp, body),
    }
    try:
        code = _post_pinned(
            url,
            body,
            headers,
            allow_private=settings.allow_private_urls,
            timeout_s=settings.webhook_timeout_s,
        )
        problem = None if 200 <= code < 300 else f"the webhook answered HTTP {code}"
    except TailorError as e:  # blocked or unresolvable URL
        problem = e.message
    except httpx.HTTPError as e:
        problem = f"the webhook could not be reached: {type(e).__name__}: {e}"
    if problem is None:
        _set_state(ctx, request_id, WebhookState.DELIVERED)
        return {"delivered": True, "attempts": ctx.attempt}
    log.warning("webhook of request %s, attempt %d: %s", request_id, ctx.attempt, problem)
    _set_state(ctx, request_id, None)
    raise UpstreamUnavailable(problem)


def webhook_failed(session: Session, job: Job) -> None:
    """Failure hook: the delivery was given up (attempts spent, or refused): the request says so."""
    req = request_store.get_request_any(session, str((job.payload or {}).get("request_id", "")))
    if req is not None and req.webhook_state != WebhookState.DELIVERED:
        req.webhook_state = WebhookState.FAILED
