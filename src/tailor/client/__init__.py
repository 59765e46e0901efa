"""Python SDK for Tailor, on httpx (sync :class:`Tailor` and async :class:`AsyncTailor`).

Needs only ``httpx`` and ``pydantic``::

    from tailor.client import Tailor

    with Tailor("http://127.0.0.1:8000", token="...") as t:
        project = t.projects.create("Mascot", ip_medium="illustration", ip_type="defined_character")
"""

from tailor.client._async_client import AsyncTailor
from tailor.client._client import Tailor
from tailor.client._config import DEFAULT_URL, resolve_token, resolve_url, token_file_path
from tailor.client._errors import (
    AuthenticationError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    PreconditionFailedError,
    RateLimitError,
    RequestFailedError,
    ServerError,
    ServiceUnavailableError,
    TailorAPIError,
    TailorConnectionError,
    TailorError,
    TailorTimeoutError,
    TrainingFailedError,
    UnsupportedMediaError,
    ValidationError,
)
from tailor.client._images import UploadResult
from tailor.client._models import (
    BulkUploadStatus,
    Checkpoint,
    CheckpointList,
    Dataset,
    DatasetDownload,
    Event,
    FailedImage,
    Generation,
    GenerationPage,
    GenerationResult,
    Health,
    Image,
    LegacyImage,
    LegacyResult,
    Model,
    ModelDownload,
    Project,
    RequestAccepted,
    RequestStatus,
    TrainingEstimate,
    TrainingParameters,
    TrainingProgress,
)

__all__ = [
    "AsyncTailor",
    "AuthenticationError",
    "BadRequestError",
    "BulkUploadStatus",
    "Checkpoint",
    "CheckpointList",
    "ConflictError",
    "DEFAULT_URL",
    "Dataset",
    "DatasetDownload",
    "Event",
    "FailedImage",
    "Generation",
    "GenerationPage",
    "GenerationResult",
    "Health",
    "Image",
    "LegacyImage",
    "LegacyResult",
    "Model",
    "ModelDownload",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "PreconditionFailedError",
    "Project",
    "RateLimitError",
    "RequestAccepted",
    "RequestFailedError",
    "RequestStatus",
    "ServerError",
    "ServiceUnavailableError",
    "Tailor",
    "TailorAPIError",
    "TailorConnectionError",
    "TailorError",
    "TailorTimeoutError",
    "TrainingFailedError",
    "TrainingEstimate",
    "TrainingParameters",
    "TrainingProgress",
    "UnsupportedMediaError",
    "UploadResult",
    "ValidationError",
    "resolve_token",
    "resolve_url",
    "token_file_path",
]
