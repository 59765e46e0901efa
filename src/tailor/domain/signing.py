"""Signed, expiring links to blobs: ``/files/<key>?exp=<unix>&sig=<hmac>``."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time


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
        if exp < (now if now is not None else time.time()):
            return False
        return hmac.compare_digest(self._sig(key, exp), sig)

    def path(self, key: str) -> str:
        exp, sig = self.sign(key)
        return f"/files/{key}?exp={exp}&sig={sig}"
