"""API tokens: generation, hashing, and the webhook signing key derived from a token."""

from __future__ import annotations

import hashlib
import hmac
import secrets

TOKEN_PREFIX = "tlr_"
WEBHOOK_SIGNING_CONTEXT = b"bria-webhook-signing-v1"


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """Tokens carry 256 bits of entropy, so a plain SHA-256 is a safe one-way lookup key."""
    return hashlib.sha256(token.encode()).hexdigest()


def webhook_signing_key(token: str) -> str:
    """HMAC-SHA256(key=api_token, msg='bria-webhook-signing-v1'), hex: the key webhooks are signed with."""
    return hmac.new(token.encode(), WEBHOOK_SIGNING_CONTEXT, hashlib.sha256).hexdigest()
