"""Signed, expiring links to blobs: ``/files/<key>?exp=<unix>&sig=<hmac>``."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

EXP_MAX = 2**63 - 1  # expiry times (unix seconds) beyond this are not ours
SIG_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"  # URL-safe base64, as ``_sig`` writes it


class UrlSigner:
    def __init__(self, secret: str, ttl_s: int) -> None:
        self._secret = secret.encode()
        self.ttl_s = ttl_s

    def _sig(self, key: str, exp: int) -> str:
        mac = hmac.new(self._secret, f"{key}\n{exp}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac[:24]).decode().rstrip("=")

    def sign(self, key: str, now: float | None = None) -> tuple[int, str]:
        """Expiry is rounded up to the hour so that repeated reads of a record give stable links."""
        t = int(now if now is not None else time.time())
        exp = ((t + self.ttl_s) // 3600 + 1) * 3600
        return exp, self._sig(key, exp)

    def verify(self, key: str, exp: int, sig: str, now: float | None = None) -> bool:
        """False for an expired link and for anything that is not one of our signatures."""
        if not 0 <= exp <= EXP_MAX or exp < (now if now is not None else time.time()):
            return False
        if not sig.isascii():
            return False  # compare_digest refuses non-ASCII text
        return hmac.compare_digest(self._sig(key, exp), sig)

    def path(self, key: str) -> str:
        exp, sig = self.sign(key)
        return f"/files/{key}?exp={exp}&sig={sig}"
