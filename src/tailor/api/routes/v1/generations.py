"""``/v1/tailored-gen/projects/{project_id}/generations``: a project's generation history (Tailor)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from tailor.api.deps import BaseUrl, CurrentOrg, RuntimeDep, SessionDep
from tailor.api.links import Signer
from tailor.api.schemas.common import Id
from tailor.api.schemas.v1_projects import utc
from tailor.domain.signing import LinkSigner
from tailor.services import generations as svc
from tailor.store.tables import Generation

router = APIRouter(prefix="/v1/tailored-gen", tags=["Generation history"])


def render_generation(
    row: Generation, model_status: str | None, *, base_url: str, signer: LinkSigner
) -> dict[str, Any]:
    body = svc.entry_values(row)
    created = utc(row.created_at)
    body["created_at"] = created.isoformat().replace("+00:00", "Z") if created is not None else None
    body["image_url"] = f"{base_url}{signer.path(row.image_key)}"
    body["organization_id"] = row.organization_id
    body["model_status"] = model_status  # the model now (Deleted: it can no longer generate)
    return body


@router.get(
    "/projects/{project_id}/generations",
    summary="Tailor: the project's generation history, newest first",
    responses={404: {"description": "Unknown project (or another organization's)."}},
)
def list_generations(
    project_id: Id,
    rt: RuntimeDep,
    session: SessionDep,
    org: CurrentOrg,
    base_url: BaseUrl,
    signer: Signer,
    page: Annotated[int, Query(ge=1, le=1_000_000, description="1-based page number.")] = 1,
    page_size: Annotated[
        int, Query(ge=1, le=svc.MAX_PAGE_SIZE, description=f"Entries per page (1-{svc.MAX_PAGE_SIZE}).")
    ] = 20,
) -> dict[str, Any]:
    rows, total = svc.list_generations(
        session, org.organization_id, project_id, page=page, page_size=page_size
    )
    states = svc.model_states(session, org.organization_id, rows)
    return {
        "generations": [
            render_generation(r, states.get(r.model_id or 0), base_url=base_url, signer=signer) for r in rows
        ],
        "total": total,
        "page": page,
        "page_size": page_size,
    }


@router.get("/projects/{project_id}/generations/{generation_id}", summary="Tailor: one history entry")
def get_generation(
    project_id: Id,
    generation_id: Id,
    rt: RuntimeDep,
    session: SessionDep,
    org: CurrentOrg,
    base_url: BaseUrl,
    signer: Signer,
) -> dict[str, Any]:
    row = svc.get_generation(session, org.organization_id, project_id, generation_id)
    states = svc.model_states(session, org.organization_id, [row])
    return render_generation(row, states.get(row.model_id or 0), base_url=base_url, signer=signer)


@router.delete(
    "/projects/{project_id}/generations/{generation_id}",
    status_code=204,
    summary="Tailor: delete a history entry and its image",
)
def delete_generation(
    project_id: Id, generation_id: Id, rt: RuntimeDep, session: SessionDep, org: CurrentOrg
) -> Response:
    svc.delete_generation(session, org.organization_id, project_id, generation_id, rt.blobs)
    return Response(status_code=204)
