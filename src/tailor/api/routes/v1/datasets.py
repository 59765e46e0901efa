"""``/v1/tailored-gen/datasets``: create, list, read, update, clone, delete, regenerate captions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response

from tailor.api.deps import BaseUrl, CurrentOrg, RuntimeDep
from tailor.api.links import Signer
from tailor.api.schemas.common import Id
from tailor.api.schemas.v1_datasets import (
    DatasetClone,
    DatasetCreate,
    DatasetPublic,
    DatasetUpdate,
    render_dataset,
)
from tailor.services import datasets as svc
from tailor.services import readiness

router = APIRouter(prefix="/v1/tailored-gen", tags=["Datasets"])


@router.post(
    "/datasets",
    status_code=201,
    response_model=DatasetPublic,
    summary="Create a dataset",
    response_model_exclude_unset=True,
)
def create_dataset(
    org: CurrentOrg, rt: RuntimeDep, base_url: BaseUrl, signer: Signer, body: DatasetCreate
) -> dict[str, Any]:
    view = svc.create_dataset(rt, org.organization_id, body.project_id, body.name, body.upload_type.value)
    return render_dataset(view, base_url, signer)


@router.get(
    "/datasets",
    response_model=list[DatasetPublic],
    summary="List datasets",
    response_model_exclude_unset=True,
)
def list_datasets(org: CurrentOrg, rt: RuntimeDep, base_url: BaseUrl, signer: Signer) -> list[dict[str, Any]]:
    return [render_dataset(v, base_url, signer) for v in svc.list_datasets(rt, org.organization_id)]


@router.get(
    "/projects/{project_id}/datasets",
    response_model=list[DatasetPublic],
    summary="List a project's datasets",
    response_model_exclude_unset=True,
)
def list_project_datasets(
    org: CurrentOrg,
    rt: RuntimeDep,
    base_url: BaseUrl,
    signer: Signer,
    project_id: Id,
    include_models: bool = Query(False, description="Add the model objects that use each dataset."),
    include_models_ids: bool = Query(False, description="Add the ids of the models that use each dataset."),
) -> list[dict[str, Any]]:
    from tailor.api.schemas.v1_models import render_model

    views = svc.list_datasets(
        rt, org.organization_id, project_id=project_id, with_models=include_models or include_models_ids
    )
    out = []
    for v in views:
        body = render_dataset(v, base_url, signer, model_ids=include_models_ids)
        if include_models:
            body["models"] = [
                render_model(m, [], base_url=base_url, signer=signer, include_training=False)
                for m in v.models or []
            ]
        out.append(body)
    return out


@router.get(
    "/datasets/{dataset_id}",
    response_model=DatasetPublic,
    summary="Get a dataset with its images",
    response_model_exclude_unset=True,
)
def get_dataset(
    org: CurrentOrg,
    rt: RuntimeDep,
    base_url: BaseUrl,
    signer: Signer,
    dataset_id: Id,
    max_images: int = Query(200, ge=1, le=200, description="How many images to include."),
) -> dict[str, Any]:
    view = svc.get_dataset(rt, org.organization_id, dataset_id, max_images=max_images)
    return render_dataset(view, base_url, signer)


@router.put(
    "/datasets/{dataset_id}",
    response_model=DatasetPublic,
    summary="Update a dataset",
    response_model_exclude_unset=True,
)
def update_dataset(
    org: CurrentOrg, rt: RuntimeDep, base_url: BaseUrl, signer: Signer, dataset_id: Id, body: DatasetUpdate
) -> dict[str, Any]:
    changes = body.model_dump(mode="json", exclude_unset=True)
    view = svc.update_dataset(rt, org.organization_id, dataset_id, changes)
    return render_dataset(view, base_url, signer)


@router.post(
    "/datasets/{dataset_id}/clone",
    status_code=201,
    response_model=DatasetPublic,
    summary="Clone a dataset as a new draft",
    response_model_exclude_unset=True,
)
def clone_dataset(
    org: CurrentOrg,
    rt: RuntimeDep,
    base_url: BaseUrl,
    signer: Signer,
    dataset_id: Id,
    body: Annotated[DatasetClone | None, Body()] = None,
) -> dict[str, Any]:
    body = body or DatasetClone.model_validate({})
    view = svc.clone_dataset(rt, org.organization_id, dataset_id, body.name, body.description)
    return render_dataset(view, base_url, signer)


@router.delete(
    "/datasets/{dataset_id}",
    status_code=204,
    response_class=Response,
    summary="Delete a dataset (409 while a model trains on it)",
)
def delete_dataset(org: CurrentOrg, rt: RuntimeDep, dataset_id: Id) -> Response:
    svc.delete_dataset(rt, org.organization_id, dataset_id)
    return Response(status_code=204)


@router.put(
    "/datasets/{dataset_id}/images",
    status_code=202,
    response_model=DatasetPublic,
    summary="Regenerate every caption (in the background)",
    response_model_exclude_unset=True,
)
def regenerate_captions(
    org: CurrentOrg, rt: RuntimeDep, base_url: BaseUrl, signer: Signer, dataset_id: Id
) -> dict[str, Any]:
    view = svc.regenerate_captions(rt, org.organization_id, dataset_id)
    return render_dataset(view, base_url, signer)


@router.get(
    "/datasets/{dataset_id}/report",
    summary="Tailor: the dataset readiness report (duplicates, sharpness, upscaling, captions, verdict)",
)
def dataset_report(org: CurrentOrg, rt: RuntimeDep, dataset_id: Id) -> dict[str, Any]:
    return readiness.dataset_report(rt, org.organization_id, dataset_id)
