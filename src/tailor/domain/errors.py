"""Domain errors, raised once where a rule is broken and mapped to HTTP in ``api/errors.py``.

Tree::

    TailorError                 (500 unless a subclass says otherwise)
    ├── InvalidInput            400  a field breaks a rule; ``field`` names it
    ├── Unauthorized            401  missing or unknown api_token
    ├── Forbidden               403  the caller may not use this endpoint
    ├── NotFound                404  unknown id, or another organization's
    ├── Conflict                409  the resource's state forbids the action
    ├── PreconditionFailed      412  e.g. dataset not completed, image too small
    ├── TooLarge                413  body, file or archive over a limit
    ├── UnsupportedMedia        415  not a jpg/png/webp (by content) or not a zip
    ├── Unprocessable           422  semantically invalid (e.g. moderation)
    ├── RateLimited             429  over a rate limit or quota; ``retry_after`` says when to retry
    └── UpstreamUnavailable     503  a dependency (VLM provider, storage) failed
"""

from __future__ import annotations

import math


class TailorError(Exception):
    """Base of every error Tailor raises on purpose."""

    status = 500

    def __init__(self, message: str, *, field: str | None = None, details: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details


class InvalidInput(TailorError):
    status = 400


class Unauthorized(TailorError):
    status = 401


class Forbidden(TailorError):
    status = 403


class NotFound(TailorError):
    status = 404


class Conflict(TailorError):
    status = 409


class PreconditionFailed(TailorError):
    status = 412


class TooLarge(TailorError):
    status = 413


class UnsupportedMedia(TailorError):
    status = 415


class Unprocessable(TailorError):
    status = 422


class RateLimited(TailorError):
    status = 429

    def __init__(
        self,
        message: str,
        *,
        retry_after_s: float = 1.0,
        field: str | None = None,
        details: str | None = None,
    ) -> None:
        super().__init__(message, field=field, details=details)
        self.retry_after_s = retry_after_s

    @property
    def retry_after(self) -> int:
        """Whole seconds before a retry can succeed, at least 1 (the ``Retry-After`` header)."""
        return max(1, math.ceil(self.retry_after_s))


class UpstreamUnavailable(TailorError):
    status = 503
