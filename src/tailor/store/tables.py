"""SQLAlchemy 2 table definitions for every record Tailor keeps.

Pixels and weights live in the blob store; rows hold their keys. Change a table here, then
regenerate the migration (see ``docs/migrations.md``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, datetime: DateTime(timezone=True)}


# Ids are never reused. PostgreSQL sequences never hand out a number twice; SQLite without
# AUTOINCREMENT gives a deleted row's id to the next insert, which would let one organization's
# links, caches and files answer for another's new record. Every integer-keyed table uses this.
NEVER_REUSE_IDS = {"sqlite_autoincrement": True}


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Organization(Base, Timestamps):
    __tablename__ = "organizations"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)


class ApiToken(Base, Timestamps):
    """An API token, stored as a SHA-256 hash. ``webhook_key_sealed`` is the derived webhook signing key,
    sealed under the server secret (``store.sealed``); ``webhook_key`` holds it in clear only for rows
    written before 0003, until the next start of the API seals them."""

    __tablename__ = "api_tokens"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    webhook_key: Mapped[str | None] = mapped_column(String(64))
    webhook_key_sealed: Mapped[str | None] = mapped_column(String(128))
    name: Mapped[str | None] = mapped_column(String(200))
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class Project(Base, Timestamps):
    __tablename__ = "projects"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    project_name: Mapped[str] = mapped_column(String(500))
    project_description: Mapped[str | None] = mapped_column(Text)
    ip_name: Mapped[str | None] = mapped_column(String(200))
    ip_description: Mapped[str | None] = mapped_column(String(500))
    ip_medium: Mapped[str] = mapped_column(String(32))
    ip_type: Mapped[str] = mapped_column(String(32))
    training_version: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="active")


class Dataset(Base, Timestamps):
    __tablename__ = "datasets"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text)
    visual_schema: Mapped[str | None] = mapped_column(Text)
    caption_prefix: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    captions_update_status: Mapped[str] = mapped_column(String(16), default="empty")
    upload_type: Mapped[str] = mapped_column(String(16), default="basic")


class Image(Base, Timestamps):
    __tablename__ = "images"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    image_name: Mapped[str] = mapped_column(String(500))
    blob_key: Mapped[str] = mapped_column(String(500))
    thumbnail_key: Mapped[str] = mapped_column(String(500))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    caption: Mapped[str | None] = mapped_column(Text)
    # null until a caption is asked for (no visual schema yet); then pending -> automatic | manual
    caption_source: Mapped[str | None] = mapped_column(String(16), default=None)
    caption_error: Mapped[str | None] = mapped_column(Text)
    upload_source_url: Mapped[str | None] = mapped_column(Text)
    # the caption before the last change (regenerated, refined or edited), for diffs
    previous_caption: Mapped[str | None] = mapped_column(Text)
    # how the image arrived: upload | zip | url; bytes stored; size as uploaded (before upscaling)
    upload_source: Mapped[str | None] = mapped_column(String(16))
    file_size: Mapped[int | None] = mapped_column(BigInteger)
    source_width: Mapped[int | None] = mapped_column(Integer)
    source_height: Mapped[int | None] = mapped_column(Integer)


class BulkUpload(Base, Timestamps):
    __tablename__ = "bulk_uploads"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    zip_key: Mapped[str | None] = mapped_column(String(500))
    zip_url: Mapped[str | None] = mapped_column(Text)
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    failed_images: Mapped[list[Any]] = mapped_column(JSON, default=list)
    error: Mapped[str | None] = mapped_column(Text)
    job_id: Mapped[int | None] = mapped_column(Integer)


class TailoredModel(Base, Timestamps):
    __tablename__ = "models"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    # None for an uploaded LoRA (upload_model): no dataset was trained on
    dataset_id: Mapped[int | None] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), index=True, nullable=True
    )
    name: Mapped[str] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text)
    custom_metadata: Mapped[str | None] = mapped_column(Text)
    # where an uploaded LoRA was fetched from (upload_model's model_url); None for trained models
    source_url: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="Created")
    training_mode: Mapped[str] = mapped_column(String(32), default="fully_automated")
    training_version: Mapped[str | None] = mapped_column(String(32), default="fibo")
    # the weights the adapter was trained on (hub id or local directory), set when training completes
    base_weights: Mapped[str | None] = mapped_column(String(500))
    training_parameters: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    training_progress: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    active_model_version: Mapped[int | None] = mapped_column(Integer)
    # every file of the model lives under this prefix: models/<org>/<id>-<random>/ (see domain.models)
    blob_prefix: Mapped[str] = mapped_column(String(200))
    adapter_key: Mapped[str | None] = mapped_column(String(500))
    adapter_sha256: Mapped[str | None] = mapped_column(String(64))
    visual_schema: Mapped[str | None] = mapped_column(Text)
    caption_prefix: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    job_id: Mapped[int | None] = mapped_column(Integer)


class Checkpoint(Base, Timestamps):
    __tablename__ = "checkpoints"
    __table_args__ = (UniqueConstraint("model_id", "checkpoint_step"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), index=True)
    checkpoint_step: Mapped[int] = mapped_column(Integer)
    training_job_id: Mapped[int | None] = mapped_column(Integer)
    adapter_key: Mapped[str] = mapped_column(String(500))
    adapter_sha256: Mapped[str | None] = mapped_column(String(64))
    state_key: Mapped[str | None] = mapped_column(String(500))
    sample_key: Mapped[str | None] = mapped_column(String(500))
    loss: Mapped[float | None] = mapped_column(Float)


class Job(Base, Timestamps):
    """A unit of background work. Claimed atomically by one worker at a time."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_claim", "state", "priority", "id"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    priority: Mapped[int] = mapped_column(Integer, default=100)
    state: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    progress: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    error_code: Mapped[int | None] = mapped_column(Integer)
    worker_id: Mapped[str | None] = mapped_column(String(200))
    # a fresh random token per claim: the fencing token of that attempt's writes (store/leases.py)
    claim_token: Mapped[str | None] = mapped_column(String(32))
    heartbeat_at: Mapped[datetime | None] = mapped_column()
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    run_after: Mapped[datetime | None] = mapped_column()
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()


class GenerationRequest(Base, Timestamps):
    """A v2 request as clients see it: an opaque ``request_id`` over one job."""

    __tablename__ = "requests"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[str] = mapped_column(String(64), unique=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    token_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id", ondelete="SET NULL"))
    endpoint: Mapped[str] = mapped_column(String(200))
    job_id: Mapped[int | None] = mapped_column(Integer, index=True)
    webhook_url: Mapped[str | None] = mapped_column(Text)
    base_url: Mapped[str | None] = mapped_column(String(500))
    webhook_state: Mapped[str | None] = mapped_column(String(16))
    webhook_attempts: Mapped[int] = mapped_column(Integer, default=0)


class Worker(Base, Timestamps):
    """A live worker process; rows whose heartbeat is stale belong to dead workers."""

    __tablename__ = "workers"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    hostname: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int] = mapped_column(Integer)
    heartbeat_at: Mapped[datetime] = mapped_column(default=utcnow)
    kinds: Mapped[list[Any] | None] = mapped_column(JSON)


class ImageMeasure(Base):
    """Readiness measures of one image, taken at ingest (``infra.image_quality``)."""

    __tablename__ = "image_measures"

    image_id: Mapped[int] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"), primary_key=True)
    phash: Mapped[str] = mapped_column(String(16))
    sharpness: Mapped[float] = mapped_column(Float)
    source_width: Mapped[int] = mapped_column(Integer)
    source_height: Mapped[int] = mapped_column(Integer)


class Evaluation(Base, Timestamps):
    """Scores of one rendered validation set: a model's checkpoint, or (``model_id`` null) the base
    model's reference for a dataset. ``scorer`` names the scoring models, so a reference taken with
    other models is not compared with these scores."""

    __tablename__ = "evaluations"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    model_id: Mapped[int | None] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), index=True)
    checkpoint_step: Mapped[int | None] = mapped_column(Integer)
    scorer: Mapped[str] = mapped_column(String(500))
    scores: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    grid_keys: Mapped[list[Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)


class Generation(Base, Timestamps):
    """One image made with a project's model (Tailor's generation history): what made it, and its
    blob. Written when its request completes; outlives the model (a Deleted model's entries stay)
    and goes with its project."""

    __tablename__ = "generations"
    __table_args__ = (Index("ix_generations_project_newest", "project_id", "id"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    model_id: Mapped[int | None] = mapped_column(Integer, index=True)  # no key: entries outlive models
    model_name: Mapped[str | None] = mapped_column(String(500))
    model_version: Mapped[str | None] = mapped_column(String(32))  # a checkpoint step, or "final"
    request_id: Mapped[str] = mapped_column(String(64), unique=True)
    token_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id", ondelete="SET NULL"))
    endpoint: Mapped[str] = mapped_column(String(200))
    prompt: Mapped[str | None] = mapped_column(Text)
    structured_prompt: Mapped[str | None] = mapped_column(Text)
    seed: Mapped[int | None] = mapped_column(BigInteger)
    parameters: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    image_key: Mapped[str] = mapped_column(String(500))
