"""``GET /v1/datasets/{dataset_id}/download`` (and the same under ``/v1/tailored-gen``)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from tailor.api.deps import BaseUrl, CurrentOrg, RuntimeDep
from tailor.api.links import Signer
from tailor.api.schemas.common import Id
from tailor.services import dataset_export as svc

router = APIRouter(tags=["Datasets"])

RETRY_AFTER_S = 5
RESPONSES: dict[int | str, dict[str, str]] = {
    200: {"description": "`{download_url, captions_url}`: signed links to the images zip and the captions"},
    202: {"description": "A large dataset's zip is being built (`IN_PROGRESS`); ask again after Retry-After"},
    404: {"description": "Unknown dataset"},
    409: {"description": "A basic dataset: download is for advanced datasets"},
}


async def _download(
    dataset_id: int, rt: RuntimeDep, org: CurrentOrg, base_url: str, signer: Signer
) -> JSONResponse:
    found = await run_in_threadpool(svc.download, rt, org.organization_id, dataset_id)
    if found.export is None:
        body = {"status": "IN_PROGRESS", "message": f"dataset {dataset_id}'s download is being prepared"}
        return JSONResponse(body, status_code=202, headers={"Retry-After": str(RETRY_AFTER_S)})
    out = {"download_url": f"{base_url}{signer.path(found.export.zip_key)}"}
    if found.export.captions_key is not None:
        out["captions_url"] = f"{base_url}{signer.path(found.export.captions_key)}"
    return JSONResponse(out)


@router.get("/v1/datasets/{dataset_id}/download", summary="Download an advanced dataset", responses=RESPONSES)
async def download_dataset(
    dataset_id: Id, rt: RuntimeDep, org: CurrentOrg, base_url: BaseUrl, signer: Signer
) -> JSONResponse:
    return await _download(dataset_id, rt, org, base_url, signer)


@router.get(
    "/v1/tailored-gen/datasets/{dataset_id}/download",
    summary="Download an advanced dataset (same as /v1/datasets/{dataset_id}/download)",
    responses=RESPONSES,
)
async def download_dataset_tailored(
    dataset_id: Id, rt: RuntimeDep, org: CurrentOrg, base_url: BaseUrl, signer: Signer
) -> JSONResponse:
    return await _download(dataset_id, rt, org, base_url, signer)
