"""Exceptions raised by the SDK.

Tree::

    TailorError                     anything the SDK raises on purpose
    ├── TailorConnectionError       the server could not be reached (after retries)
    ├── TailorTimeoutError          a waiter ran out of time
    ├── RequestFailedError          a v2 request ended in ERROR (``request_id``, ``status``)
    ├── TrainingFailedError         a model's training ended Failed or Stopped (``model``)
    └── TailorAPIError              the API answered an error (``status``, ``code``, ``message``,
        │                           ``details``, ``request_id``)
        ├── BadRequestError         400
        ├── AuthenticationError     401
        ├── PermissionDeniedError   403
        ├── NotFoundError           404
        ├── ConflictError           409
        ├── PreconditionFailedError 412
        ├── PayloadTooLargeError    413
        ├── UnsupportedMediaError   415
        ├── ValidationError         422
        ├── RateLimitError          429
        ├── ServiceUnavailableError 503
        └── ServerError             other 5xx
"""

from __future__ import annotations

from typing import Any

import httpx


class TailorError(Exception):
    """Base of every error the SDK raises on purpose."""


class TailorConnectionError(TailorError):
    """The server could not be reached."""


class TailorTimeoutError(TailorError):
    """A waiter gave up before the work finished."""


class TailorAPIError(TailorError):
    """The API answered with an error status; carries its code, message and request id."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: int | None = None,
        details: str | None = None,
        request_id: str | None = None,
        body: Any = None,
    ) -> None:
        self.status = status
        self.code = code if code is not None else status
        self.message = message
        self.details = details or ""
        self.request_id = request_id or ""
        self.body = body
        super().__init__(f"{status}: {message}")


class BadRequestError(TailorAPIError):
    """400: a field breaks a rule."""


class AuthenticationError(TailorAPIError):
    """401: missing or unknown api_token."""


class PermissionDeniedError(TailorAPIError):
    """403."""


class NotFoundError(TailorAPIError):
    """404: unknown id (or another organization's)."""


class ConflictError(TailorAPIError):
    """409: the resource's state forbids the action."""


class PreconditionFailedError(TailorAPIError):
    """412: e.g. the dataset is not completed, or an image is too small."""


class PayloadTooLargeError(TailorAPIError):
    """413."""


class UnsupportedMediaError(TailorAPIError):
    """415."""


class ValidationError(TailorAPIError):
    """422: semantically invalid (e.g. moderation)."""


class RateLimitError(TailorAPIError):
    """429."""


class ServiceUnavailableError(TailorAPIError):
    """503: a dependency of the server is unavailable."""


class ServerError(TailorAPIError):
    """Any other 5xx."""


class RequestFailedError(TailorError):
    """A v2 request finished with status ERROR."""

    def __init__(self, request_id: str, message: str, status: Any = None) -> None:
        self.request_id = request_id
        self.message = message
        self.status = status
        super().__init__(f"request {request_id} failed: {message}")


class TrainingFailedError(TailorError):
    """A model's training ended without completing."""

    def __init__(self, model: Any, message: str) -> None:
        self.model = model
        self.message = message
        super().__init__(message)


_BY_STATUS: dict[int, type[TailorAPIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    412: PreconditionFailedError,
    413: PayloadTooLargeError,
    415: UnsupportedMediaError,
    422: ValidationError,
    429: RateLimitError,
    503: ServiceUnavailableError,
}


def error_from_response(response: httpx.Response) -> TailorAPIError:
    """Build the right exception from an error response in the API's error shape (or any body)."""
    status = response.status_code
    body: Any = None
    try:
        body = response.json()
    except ValueError:
        body = None
    code: int | None = None
    details: str | None = None
    request_id = response.headers.get("x-request-id")
    message = ""
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):
            message = str(err.get("message") or "")
            code = err.get("code") if isinstance(err.get("code"), int) else None
            details = str(err.get("details") or "") or None
        elif isinstance(err, str):
            message = err
        elif isinstance(body.get("detail"), str):
            message = body["detail"]
        elif body.get("status"):
            message = f"status {body['status']}"
        request_id = str(body.get("request_id") or "") or request_id
    if not message:
        text = response.text.strip() if body is None else ""
        message = text[:200] or response.reason_phrase or f"HTTP {status}"
    cls = _BY_STATUS.get(status) or (ServerError if status >= 500 else TailorAPIError)
    return cls(status, message, code=code, details=details, request_id=request_id, body=body)
