"""Signed, expiring links to blobs: ``/files/<key>?exp=<unix>[&tok=<token id>]&sig=<hmac>``.

A link lives exactly ``ttl_s`` seconds from when it was issued, less at most ``expiry_step_s`` (a
minute at most): the expiry is rounded *down* to that step so that a record read several times within
the step gives the same link (browsers cache images by URL), and no link ever outlives its TTL.

A link issued in answer to a request made with an API token carries the token's id (``tok``) inside
the signed part, so ``/files`` can refuse it once that token is revoked; changing or removing ``tok``
breaks the signature. Links issued without a token have no ``tok`` and are checked exactly as links
were before tokens were bound (those stay valid until they expire).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass

# The expiry is rounded down to a step of at most this (and at most a tenth of the TTL).
MAX_EXPIRY_STEP_S = 60

EXP_MAX = 2**63 - 1  # expiry times (unix seconds) beyond this are not ours
SIG_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"  # URL-safe base64, as ``_sig`` writes it


class UrlSigner:
    def __init__(self, secret: str, ttl_s: int) -> None:
        self._secret = secret.encode()
        self.ttl_s = ttl_s

    @property
    def expiry_step_s(self) -> int:
        return max(1, min(MAX_EXPIRY_STEP_S, self.ttl_s // 10))

    def _sig(self, key: str, exp: int, token_id: int | None) -> str:
        # Keys never contain a newline (``blob_base.check_key``), so the two forms cannot collide.
        message = f"{key}\n{exp}" if token_id is None else f"tok:{token_id}\n{key}\n{exp}"
        mac = hmac.new(self._secret, message.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac[:24]).decode().rstrip("=")

    def expiry(self, now: float | None = None) -> int:
        """``now + ttl_s``, rounded down to ``expiry_step_s``: never later than the TTL allows."""
        t = int(now if now is not None else time.time()) + self.ttl_s
        return t - t % self.expiry_step_s

    def sign(self, key: str, *, token_id: int | None, now: float | None = None) -> tuple[int, str]:
        exp = self.expiry(now)
        return exp, self._sig(key, exp, token_id)

    def verify(self, key: str, exp: int, sig: str, *, token_id: int | None, now: float | None = None) -> bool:
        """False for an expired link and for anything that is not one of our signatures."""
        if not 0 <= exp <= EXP_MAX or exp < (now if now is not None else time.time()):
            return False
        if not sig.isascii():
            return False  # compare_digest refuses non-ASCII text
        return hmac.compare_digest(self._sig(key, exp, token_id), sig)

    def path(self, key: str, *, token_id: int | None) -> str:
        exp, sig = self.sign(key, token_id=token_id)
        tok = "" if token_id is None else f"&tok={token_id}"
        return f"/files/{key}?exp={exp}{tok}&sig={sig}"

    def bound(self, token_id: int | None) -> LinkSigner:
        """The signer for links handed to the holder of API token ``token_id`` (None: no token)."""
        return LinkSigner(self, token_id)


@dataclass(frozen=True)
class LinkSigner:
    """Signs links on behalf of one API token (or of none): what every renderer of links receives."""

    signer: UrlSigner
    token_id: int | None

    def path(self, key: str) -> str:
        return self.signer.path(key, token_id=self.token_id)
