"""Per-organization concurrency quotas on jobs.

An organization may have at most ``TAILOR_ORG_MAX_ACTIVE_JOBS`` v2 requests and
``TAILOR_ORG_MAX_ACTIVE_TRAININGS`` trainings queued or running at once. The code that creates
either calls :func:`check` in the transaction that inserts the job, before inserting it: the
check locks the organization (``store.quotas.lock_organization``), so two requests racing for the
last slot cannot both pass, and a refused request (429) has created nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from tailor.domain.errors import RateLimited
from tailor.store import quotas as store


@dataclass(frozen=True)
class Quota:
    what: str  # as the message names it
    setting: str  # the variable that sets the limit
    retry_after_s: float  # a hint: about when one of them may have finished
    count: Callable[[Session, int], int]


ACTIVE_REQUESTS = Quota(
    "v2 requests queued or running", "TAILOR_ORG_MAX_ACTIVE_JOBS", 5.0, store.count_active_requests
)
ACTIVE_TRAININGS = Quota(
    "trainings queued or running", "TAILOR_ORG_MAX_ACTIVE_TRAININGS", 60.0, store.count_active_trainings
)


def check(session: Session, organization_id: int, quota: Quota, limit: int) -> None:
    """Refuse with 429 (and ``Retry-After``) when the organization already has ``limit`` active
    jobs of ``quota``; ``limit`` 0 means no limit. Call it in the transaction that creates the job,
    before creating it; the organization stays locked until that transaction ends."""
    if limit <= 0:
        return
    store.lock_organization(session, organization_id)
    active = quota.count(session, organization_id)
    if active >= limit:
        raise RateLimited(
            f"the organization has {active} {quota.what}, the most allowed ({quota.setting}={limit}); "
            "retry when one of them has finished",
            retry_after_s=quota.retry_after_s,
        )
