"""Settings: every ``TAILOR_*`` environment variable, read by pydantic-settings.

Nothing is built at import: call :func:`load_settings` (or construct :class:`Settings`) where needed.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Tailor's configuration. Each field maps to ``TAILOR_<FIELD>`` (upper case)."""

    model_config = SettingsConfigDict(env_prefix="TAILOR_", env_file=None, extra="ignore")

    # --- where things live ---------------------------------------------------------------------
    home: Path = Field(Path("./.tailor"), description="Data directory (database, blobs, models, token).")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default SQLite under home.")
    blob_url: str | None = Field(
        None, description="file:///path or s3://bucket/prefix; default file://<home>/blobs."
    )
    s3_endpoint_url: str | None = Field(None, description="Endpoint of an S3-compatible server.")
    s3_region: str | None = Field(None, description="Region for the S3 client (else AWS_DEFAULT_REGION).")

    # --- the HTTP service ----------------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str | None = Field(
        None, description="Base URL clients use to reach Tailor; default derived from each request."
    )
    secret_key: str | None = Field(
        None, description="Key that signs file links; default generated once into <home>/secret."
    )
    signed_url_ttl_s: int = Field(24 * 3600, ge=60, description="Lifetime of signed image/file links.")
    log_level: str = "INFO"

    # --- limits --------------------------------------------------------------------------------
    max_request_bytes: int = Field(64 * 1024 * 1024, description="Largest request body (single upload).")
    max_zip_bytes: int = Field(2 * 1024**3, description="Largest zip archive accepted for bulk upload.")
    max_zip_uncompressed_bytes: int = Field(8 * 1024**3, description="Cap on a zip's total unpacked size.")
    max_zip_ratio: float = Field(200.0, description="Largest compression ratio of one zip member.")
    max_image_pixels: int = Field(64 * 1024 * 1024, description="Decompression-bomb cap (width x height).")
    max_image_bytes: int = Field(50 * 1024 * 1024, description="Largest single image file.")
    min_image_side: int = Field(1024, description="Images must be at least this on both sides.")
    min_upscale_side: int = Field(256, description="Smallest side that increase_resolution will upscale.")
    thumbnail_side: int = Field(256, description="Longest side of image thumbnails.")
    basic_dataset_max_images: int = 200
    advanced_dataset_max_images: int = 5000
    allow_private_urls: bool = Field(
        False, description="Allow image_url/zip_url/webhook_url to reach loopback/private addresses."
    )
    url_fetch_timeout_s: float = 30.0
    url_fetch_max_bytes: int = Field(64 * 1024 * 1024, description="Largest image fetched from a URL.")

    # --- jobs and workers ----------------------------------------------------------------------
    workers: int = Field(1, ge=0, description="Local worker processes started by `tailor serve`.")
    sync_timeout_s: float = Field(60.0, description="How long a sync=true request waits before 202.")
    heartbeat_interval_s: float = 2.0
    heartbeat_timeout_s: float = Field(30.0, description="A worker silent this long is presumed dead.")
    job_max_attempts: int = 3
    webhook_max_attempts: int = 5

    # --- ML engine -----------------------------------------------------------------------------
    base_model: str = Field("tiny", description="Hub id (briaai/FIBO), local diffusers dir, or 'tiny'.")
    device: str = Field("auto", description="auto | cpu | cuda | cuda:N")
    cpu_offload: bool = False
    adapter_cache_size: int = Field(4, ge=1, description="LoRA adapters kept loaded per worker.")

    # --- VLM bridge ----------------------------------------------------------------------------
    vlm: str = Field("offline", description="'offline' or a litellm model id, e.g. gemini/gemini-2.5-flash.")
    vlm_base_url: str | None = None
    vlm_api_key: str | None = None
    vlm_timeout_s: float = 60.0
    vlm_max_retries: int = 3
    vlm_concurrency: int = Field(8, ge=1)

    @field_validator("home", mode="after")
    @classmethod
    def _absolute_home(cls, v: Path) -> Path:
        return v.expanduser().resolve()

    # --- derived -------------------------------------------------------------------------------
    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'tailor.db'}"

    @property
    def resolved_blob_url(self) -> str:
        return self.blob_url or f"file://{self.home / 'blobs'}"

    @property
    def token_file(self) -> Path:
        return self.home / "token"

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    def resolved_secret_key(self) -> str:
        """The link-signing key: configured, or generated once and kept in ``<home>/secret``."""
        if self.secret_key:
            return self.secret_key
        path = self.home / "secret"
        if path.exists():
            return path.read_text().strip()
        self.home.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(32)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(key)
        tmp.chmod(0o600)
        tmp.replace(path)
        return path.read_text().strip()


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment, with explicit overrides on top."""
    return Settings(**overrides)  # type: ignore[arg-type]
