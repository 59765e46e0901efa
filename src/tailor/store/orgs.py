"""Organizations and API tokens.

A token's webhook signing key (HMAC-SHA256(token, "bria-webhook-signing-v1")) is stored sealed
(``webhook_key_sealed``, see ``store.sealed``) under the server secret. Rows written before that
(``webhook_key`` in clear) still sign webhooks and are sealed by :func:`seal_plain_webhook_keys`, which
every start of the API runs after migrating.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from tailor.domain.tokens import hash_token, new_token, webhook_signing_key
from tailor.store.sealed import SealError, seal, unseal
from tailor.store.tables import ApiToken, Organization

_WEBHOOK_KEY = b"webhook-signing-key/v1"


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


def _seal_webhook_key(secret: str, token_hash: str, key_hex: str) -> str:
    return seal(secret, _WEBHOOK_KEY, bytes.fromhex(key_hex), context=token_hash.encode())


def create_token(session: Session, org: Organization, name: str | None = None, *, secret: str) -> str:
    """Create a token for ``org`` and return it in clear (the only time it is ever visible).

    ``secret`` is the server secret (``Settings.resolved_secret_key()``) that seals the webhook key.
    """
    token = new_token()
    token_hash = hash_token(token)
    session.add(
        ApiToken(
            organization_id=org.id,
            token_hash=token_hash,
            prefix=token[:8],
            webhook_key_sealed=_seal_webhook_key(secret, token_hash, webhook_signing_key(token)),
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


def token_is_active(session: Session, token_id: int) -> bool:
    """Whether the token exists and is not revoked."""
    revoked = session.scalar(select(ApiToken.revoked).where(ApiToken.id == token_id))
    return revoked is not None and not revoked


def webhook_key_for(session: Session, token_id: int, *, secret: str) -> str | None:
    """The token's webhook signing key (hex), or None when the token no longer exists.

    Raises ``SealError`` when the key was sealed under another server secret.
    """
    row = session.get(ApiToken, token_id)
    if row is None:
        return None
    if row.webhook_key_sealed is None:
        return row.webhook_key  # written before keys were sealed, not yet sealed by a start
    try:
        key = unseal(secret, _WEBHOOK_KEY, row.webhook_key_sealed, context=row.token_hash.encode())
    except SealError as e:
        raise SealError(
            f"the webhook signing key of API token {token_id} cannot be opened: this process's "
            "TAILOR_SECRET_KEY differs from the one of the API that created the token"
        ) from e
    return key.hex()


def seal_plain_webhook_keys(session: Session, secret: str) -> int:
    """Seal every webhook key still stored in clear (rows from before sealing); returns how many."""
    rows = session.scalars(select(ApiToken).where(ApiToken.webhook_key.is_not(None))).all()
    for row in rows:
        assert row.webhook_key is not None
        row.webhook_key_sealed = _seal_webhook_key(secret, row.token_hash, row.webhook_key)
        row.webhook_key = None
    session.flush()
    return len(rows)


# --- administration: list, revoke, rotate ---------------------------------------------------------


@dataclass(frozen=True)
class TokenInfo:
    """What an administrator sees of a token (never the token itself)."""

    id: int
    organization: str
    name: str | None
    prefix: str
    created_at: datetime
    revoked: bool


def list_tokens(session: Session, organization: str | None = None) -> list[TokenInfo]:
    """Every token (of ``organization``, when given), oldest first."""
    q = select(ApiToken, Organization.name).join(Organization, Organization.id == ApiToken.organization_id)
    if organization is not None:
        q = q.where(Organization.name == organization)
    return [
        TokenInfo(row.id, org_name, row.name, row.prefix, row.created_at, row.revoked)
        for row, org_name in session.execute(q.order_by(ApiToken.id)).all()
    ]


def find_tokens(session: Session, ref: str) -> list[ApiToken]:
    """The tokens ``ref`` names: an id (digits), a whole token, or the start of a token as
    ``list_tokens`` shows it (its prefix). More than one means ``ref`` is ambiguous."""
    ref = ref.strip()
    if not ref:
        return []
    if ref.isdigit():
        row = session.get(ApiToken, int(ref))
        return [row] if row is not None else []
    whole = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(ref)))
    if whole is not None:
        return [whole]
    return list(session.scalars(select(ApiToken).where(ApiToken.prefix.startswith(ref, autoescape=True))))


def revoke_token(session: Session, row: ApiToken) -> bool:
    """Revoke ``row``: from the next request on, it answers 401. False if it already was."""
    if row.revoked:
        return False
    row.revoked = True
    session.flush()
    return True


def rotate_token(session: Session, row: ApiToken, *, secret: str) -> str:
    """Revoke ``row`` and return a new token for the same organization and name, in one transaction
    (``secret``: the server secret that seals the new token's webhook key)."""
    revoke_token(session, row)
    org = session.get(Organization, row.organization_id)
    if org is None:  # the foreign key (ON DELETE CASCADE) rules it out
        raise LookupError(f"organization {row.organization_id} of token {row.id} is gone")
    return create_token(session, org, name=row.name, secret=secret)
