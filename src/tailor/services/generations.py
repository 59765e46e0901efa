"""Generation history per project (a Tailor extension): every image made with a project's model.

An entry is written by a terminal hook in the transaction that completes a tailored generation or
edit (``record``), from the job's payload and result, so it holds exactly what made the image: the
request, the model and checkpoint, the prompt and structured prompt, the seed and every value of
``result.parameters``. Entries outlive the model (a Deleted model's entries stay, and say so) and
are removed with their project; deleting one entry also removes its image file.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from tailor.domain.enums import JobState
from tailor.domain.errors import NotFound
from tailor.domain.jobs import EDIT_IMAGE, GENERATE_IMAGE
from tailor.store import generations as store
from tailor.store import models as model_store
from tailor.store.blob_base import BlobStore
from tailor.store.tables import Generation, Job

RECORDED_KINDS = frozenset({GENERATE_IMAGE.name, EDIT_IMAGE.name})
MAX_PAGE_SIZE = 100


def record(session: Session, job: Job) -> None:
    """Terminal hook: add the history entry of a completed tailored generation or edit."""
    if job.state != JobState.completed or job.kind not in RECORDED_KINDS:
        return
    payload, result = job.payload or {}, job.result or {}
    model_id = payload.get("model_id")
    if not isinstance(model_id, int) or not result.get("image_key"):
        return
    req = store.request_of_job(session, job.id)
    model = model_store.get_model_by_id(session, model_id)
    if req is None or model is None or model.organization_id != job.organization_id:
        return
    if store.has_request(session, req.request_id):
        return
    edit = job.kind == EDIT_IMAGE.name
    parameters = dict(result.get("parameters") or {})
    if edit:  # an edit's result carries no parameters: what the payload says made it
        parameters = {
            "steps_num": payload.get("steps_num"),
            "guidance_scale": payload.get("guidance_scale"),
            "negative_prompt": payload.get("negative_prompt"),
            "tailored_model_id": str(model_id),
            "tailored_model_influence": payload.get("influence"),
            "edit": True,
        }
    version = parameters.get("model_version")
    store.add_generation(
        session,
        organization_id=model.organization_id,
        project_id=model.project_id,
        model_id=model.id,
        model_name=model.name,
        model_version=None if version is None else str(version),
        request_id=req.request_id,
        token_id=req.token_id,
        endpoint=req.endpoint,
        prompt=result.get("prompt") if not edit else None,
        structured_prompt=result.get("structured_prompt"),
        seed=result.get("seed"),
        parameters=parameters,
        image_key=result["image_key"],
    )


def _project(session: Session, organization_id: int, project_id: int) -> None:
    if model_store.get_project(session, organization_id, project_id) is None:
        raise NotFound(f"project {project_id} not found")


def list_generations(
    session: Session, organization_id: int, project_id: int, *, page: int, page_size: int
) -> tuple[list[Generation], int]:
    """One page (1-based) of the project's history, newest first, and the total count."""
    _project(session, organization_id, project_id)
    return store.list_page(
        session, organization_id, project_id, offset=(page - 1) * page_size, limit=page_size
    )


def get_generation(session: Session, organization_id: int, project_id: int, generation_id: int) -> Generation:
    _project(session, organization_id, project_id)
    row = store.get_generation(session, organization_id, project_id, generation_id)
    if row is None:
        raise NotFound(f"generation {generation_id} not found in project {project_id}")
    return row


def delete_generation(
    session: Session, organization_id: int, project_id: int, generation_id: int, blobs: BlobStore
) -> None:
    """Remove the entry, then (after the commit) its image file."""
    row = get_generation(session, organization_id, project_id, generation_id)
    key = row.image_key
    store.delete_generation(session, row)
    session.commit()
    blobs.delete(key)


def model_states(session: Session, organization_id: int, rows: list[Generation]) -> dict[int, str]:
    """The current status of the models the entries name (Deleted ones included)."""
    out: dict[int, str] = {}
    for mid in {r.model_id for r in rows if r.model_id is not None}:
        model = model_store.get_model(session, organization_id, mid)
        if model is not None:
            out[mid] = model.status
    return out


def entry_values(row: Generation) -> dict[str, Any]:
    """The stored values of an entry (links are made by the API layer)."""
    return {
        "id": row.id,
        "request_id": row.request_id,
        "project_id": row.project_id,
        "model_id": row.model_id,
        "model_name": row.model_name,
        "model_version": row.model_version,
        "endpoint": row.endpoint,
        "prompt": row.prompt,
        "structured_prompt": row.structured_prompt,
        "seed": row.seed,
        "parameters": row.parameters or {},
        "token_id": row.token_id,
    }
