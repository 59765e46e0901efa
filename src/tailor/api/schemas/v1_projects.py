"""Bodies and responses of ``/v1/tailored-gen/projects``: ``ProjectCreate``, ``ProjectUpdate``,
``ProjectPublic`` and its renderer."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from tailor.api.schemas.common import UpdateBody
from tailor.domain.enums import IpMedium, IpType
from tailor.store.tables import Project


def utc(value: datetime | None) -> datetime | None:
    """Timestamps as aware UTC (SQLite hands them back naive)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class ProjectCreate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    project_name: str = Field(min_length=1, max_length=500, description="Name of the project.")
    project_description: str | None = Field(None, max_length=10000)
    ip_name: str | None = Field(
        None, max_length=200, description="defined_character only (required there): 1-3 words."
    )
    ip_description: str | None = Field(
        None,
        max_length=500,
        description="Required for defined_character and object_variants; at most 6 words.",
    )
    ip_medium: IpMedium
    ip_type: IpType = Field(
        description="object_variants, multi_object_set, icons, character_variants: illustration only."
    )


class ProjectUpdate(UpdateBody):
    NULLABLE: ClassVar[frozenset[str]] = frozenset({"project_description", "ip_name", "ip_description"})

    project_name: str | None = Field(None, min_length=1, max_length=500)
    project_description: str | None = Field(None, max_length=10000)
    ip_name: str | None = Field(None, max_length=200)
    ip_description: str | None = Field(None, max_length=500)


class ProjectPublic(BaseModel):
    id: int
    project_name: str
    project_description: str | None
    ip_name: str | None
    ip_description: str | None
    ip_medium: str
    ip_type: str
    training_version: str | None = Field(
        description="The training family the project is locked to ('fibo'), or null until trained."
    )
    status: str
    created_at: datetime
    updated_at: datetime


def render_project(p: Project) -> dict[str, Any]:
    return {
        "id": p.id,
        "project_name": p.project_name,
        "project_description": p.project_description,
        "ip_name": p.ip_name,
        "ip_description": p.ip_description,
        "ip_medium": p.ip_medium,
        "ip_type": p.ip_type,
        "training_version": p.training_version,
        "status": p.status,
        "created_at": utc(p.created_at),
        "updated_at": utc(p.updated_at),
    }
