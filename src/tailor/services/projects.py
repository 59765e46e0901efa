"""Project use cases: create, read, update, delete (refused while one of its models trains)."""

from __future__ import annotations

from typing import Any

from tailor.domain import projects as rules
from tailor.domain.errors import Conflict, NotFound
from tailor.services.blob_refs import delete_model_files, delete_unreferenced
from tailor.services.context import Stores
from tailor.store import images as image_store
from tailor.store import models as model_store
from tailor.store import projects as store
from tailor.store.db import session_scope
from tailor.store.tables import Project

UPDATABLE = ("project_name", "project_description", "ip_name", "ip_description")


def create_project(rt: Stores, organization_id: int, values: dict[str, Any]) -> Project:
    rules.check_project(
        ip_medium=values["ip_medium"],
        ip_type=values["ip_type"],
        ip_name=values.get("ip_name"),
        ip_description=values.get("ip_description"),
    )
    with session_scope(rt.sessions) as s:
        return store.add_project(s, organization_id, **values)


def list_projects(rt: Stores, organization_id: int) -> list[Project]:
    with session_scope(rt.sessions) as s:
        return store.list_projects(s, organization_id)


def get_project(rt: Stores, organization_id: int, project_id: int) -> Project:
    with session_scope(rt.sessions) as s:
        project = store.get_project(s, organization_id, project_id)
    if project is None:
        raise NotFound(f"project {project_id} not found")
    return project


def update_project(rt: Stores, organization_id: int, project_id: int, changes: dict[str, Any]) -> Project:
    """Change the given fields; the merged project must still meet every project rule."""
    with session_scope(rt.sessions) as s:
        project = store.get_project(s, organization_id, project_id)
        if project is None:
            raise NotFound(f"project {project_id} not found")
        merged = {k: getattr(project, k) for k in UPDATABLE} | {
            k: v for k, v in changes.items() if k in UPDATABLE
        }
        rules.check_project(
            ip_medium=project.ip_medium,
            ip_type=project.ip_type,
            ip_name=merged["ip_name"],
            ip_description=merged["ip_description"],
        )
        for k in UPDATABLE:
            if k in changes:
                setattr(project, k, changes[k])
        s.flush()
        return project


def delete_project(rt: Stores, organization_id: int, project_id: int) -> None:
    """Delete the project with its datasets, images and models; 409 while a model trains."""
    with session_scope(rt.sessions) as s:
        project = store.get_project(s, organization_id, project_id)
        if project is None:
            raise NotFound(f"project {project_id} not found")
        if store.has_training_model(s, project_id):
            raise Conflict("a model of this project is training; stop it before deleting the project")
        keys = image_store.keys_of_project(s, project_id)
        model_prefixes = [m.blob_prefix for m in model_store.models_of_project(s, project_id)]
        store.delete_project(s, project)
    delete_unreferenced(rt, keys)
    delete_model_files(rt, model_prefixes)
