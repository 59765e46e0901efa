"""``/v1/tailored-gen/projects``: create, list, read, update, delete."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from tailor.api.deps import CurrentOrg, RuntimeDep
from tailor.api.schemas.common import Id
from tailor.api.schemas.v1_projects import ProjectCreate, ProjectPublic, ProjectUpdate, render_project
from tailor.services import projects as svc

router = APIRouter(prefix="/v1/tailored-gen", tags=["Projects"])


@router.post("/projects", status_code=201, response_model=ProjectPublic, summary="Create a project")
def create_project(org: CurrentOrg, rt: RuntimeDep, body: ProjectCreate) -> dict[str, Any]:
    values = body.model_dump(mode="json")
    return render_project(svc.create_project(rt, org.organization_id, values))


@router.get("/projects", response_model=list[ProjectPublic], summary="List projects")
def list_projects(org: CurrentOrg, rt: RuntimeDep) -> list[dict[str, Any]]:
    return [render_project(p) for p in svc.list_projects(rt, org.organization_id)]


@router.get("/projects/{project_id}", response_model=ProjectPublic, summary="Get a project")
def get_project(org: CurrentOrg, rt: RuntimeDep, project_id: Id) -> dict[str, Any]:
    return render_project(svc.get_project(rt, org.organization_id, project_id))


@router.put("/projects/{project_id}", response_model=ProjectPublic, summary="Update a project")
def update_project(org: CurrentOrg, rt: RuntimeDep, project_id: Id, body: ProjectUpdate) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True)
    return render_project(svc.update_project(rt, org.organization_id, project_id, changes))


@router.delete(
    "/projects/{project_id}",
    status_code=204,
    response_class=Response,
    summary="Delete a project (409 while one of its models trains)",
)
def delete_project(org: CurrentOrg, rt: RuntimeDep, project_id: Id) -> Response:
    svc.delete_project(rt, org.organization_id, project_id)
    return Response(status_code=204)
