"""Organizations and API tokens."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from tailor.domain.tokens import hash_token, new_token, webhook_signing_key
from tailor.store.tables import ApiToken, Organization


@dataclass(frozen=True)
class Principal:
    """Who is calling: the organization and the token used."""

    organization_id: int
    token_id: int


def get_or_create_org(session: Session, name: str) -> Organization:
    org = session.scalar(select(Organization).where(Organization.name == name))
    if org is None:
        org = Organization(name=name)
        session.add(org)
        session.flush()
    return org


def create_token(session: Session, org: Organization, name: str | None = None) -> str:
    """Create a token for ``org`` and return it in clear (the only time it is ever visible)."""
    token = new_token()
    session.add(
        ApiToken(
            organization_id=org.id,
            token_hash=hash_token(token),
            prefix=token[:8],
            webhook_key=webhook_signing_key(token),
            name=name,
        )
    )
    session.flush()
    return token


def authenticate(session: Session, token: str) -> Principal | None:
    row = session.scalar(
        select(ApiToken).where(ApiToken.token_hash == hash_token(token), ApiToken.revoked.is_(False))
    )
    if row is None:
        return None
    return Principal(organization_id=row.organization_id, token_id=row.id)


def count_orgs(session: Session) -> int:
    return len(session.scalars(select(Organization.id)).all())


def webhook_key_for(session: Session, token_id: int) -> str | None:
    row = session.get(ApiToken, token_id)
    return row.webhook_key if row else None
