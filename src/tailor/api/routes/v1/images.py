"""``/v1/tailored-gen/datasets/{dataset_id}/images``: upload (multipart or JSON), list, read,
caption edits, delete, and zip bulk upload with its status."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from tailor.api.deps import BaseUrl, CurrentOrg, RuntimeDep
from tailor.api.errors import describe_validation
from tailor.api.input_guard import read_form
from tailor.api.links import Signer
from tailor.api.schemas.common import ID_MAX, Id
from tailor.api.schemas.v1_images import (
    BulkDelete,
    BulkDeleteResult,
    BulkUploadCreate,
    BulkUploadStatusPublic,
    ImageCreate,
    ImagePublic,
    ImageUpdate,
    render_image,
)
from tailor.bootstrap import Runtime
from tailor.domain.enums import CaptionState
from tailor.domain.errors import InvalidInput, TooLarge
from tailor.domain.readiness import Flag
from tailor.engine.moderation import image_moderator
from tailor.infra.imaging import decode_base64
from tailor.services import bulk_upload as bulk_svc
from tailor.services import images as svc

router = APIRouter(prefix="/v1/tailored-gen/datasets/{dataset_id}/images", tags=["Images"])

MAX_PAGE = 500
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off", ""}


def _multipart_doc(fields: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": fields}
    if required:
        schema["required"] = required
    return schema


_UPLOAD_FIELDS = {
    "file": {"type": "string", "format": "binary", "description": "The image (or send image_url)."},
    "image_url": {"type": "string"},
    "image_name": {"type": "string"},
    "increase_resolution": {"type": "boolean", "default": True},
    "content_moderation": {"type": "boolean", "default": False},
}
UPLOAD_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {"schema": _multipart_doc(_UPLOAD_FIELDS)},
            "application/json": {"schema": ImageCreate.model_json_schema()},
        },
    }
}
BULK_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": BulkUploadCreate.model_json_schema()},
            "multipart/form-data": {
                "schema": _multipart_doc({"file": {"type": "string", "format": "binary"}}, ["file"])
            },
        },
    }
}


def _is_multipart(request: Request) -> bool:
    return request.headers.get("content-type", "").lower().startswith("multipart/form-data")


async def _json_body(request: Request, model: type[BaseModel]) -> Any:
    try:
        data = await request.json()
    except ValueError as e:
        raise InvalidInput("the body must be JSON or multipart/form-data", field="body") from e
    try:
        return model.model_validate(data)
    except ValidationError as e:
        message, details = describe_validation([dict(x) for x in e.errors()])
        raise InvalidInput(message, details=details) from e


def _flag(value: Any, name: str, default: bool) -> bool:
    if value is None:
        return default
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise InvalidInput(f"{name} must be true or false", field=name)


def _b64(text: str, max_bytes: int) -> bytes:
    return decode_base64(
        text, max_bytes=max_bytes, field="file", message="must be base64-encoded image bytes"
    )


# --- bulk upload (declared before /{image_id} routes) ---------------------------------------------


@router.post(
    "/bulk-upload",
    status_code=202,
    response_model=BulkUploadStatusPublic,
    summary="Upload a zip of images to an advanced dataset (in the background)",
    openapi_extra=BULK_DOC,
)
async def bulk_upload(org: CurrentOrg, rt: RuntimeDep, request: Request, dataset_id: Id) -> dict[str, Any]:
    if _is_multipart(request):
        form = await read_form(request, max_files=1, max_fields=10)
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise InvalidInput("file is required (a zip archive)", field="file")
        await run_in_threadpool(
            bulk_svc.start_bulk_upload, rt, org.organization_id, dataset_id, archive=upload.file
        )
        await form.close()
    else:
        body = await _json_body(request, BulkUploadCreate)
        await run_in_threadpool(
            bulk_svc.start_bulk_upload, rt, org.organization_id, dataset_id, zip_url=body.zip_url
        )
    return await run_in_threadpool(bulk_svc.bulk_status, rt, org.organization_id, dataset_id)


@router.get(
    "/bulk-upload/status", response_model=BulkUploadStatusPublic, summary="Progress of the bulk upload"
)
def bulk_upload_status(org: CurrentOrg, rt: RuntimeDep, dataset_id: Id) -> dict[str, Any]:
    return bulk_svc.bulk_status(rt, org.organization_id, dataset_id)


# --- single images --------------------------------------------------------------------------------


def _moderator(rt: Runtime, asked: bool) -> Callable[[bytes], str | None] | None:
    """The image check when the request asks for it and a moderation model is configured."""
    moderator = image_moderator(rt.settings) if asked else None
    return moderator.reason if moderator is not None else None


@router.post(
    "",
    status_code=201,
    response_model=ImagePublic,
    summary="Upload one image to a basic dataset",
    openapi_extra=UPLOAD_DOC,
)
async def upload_image(
    org: CurrentOrg, rt: RuntimeDep, base_url: BaseUrl, signer: Signer, request: Request, dataset_id: Id
) -> dict[str, Any]:
    max_bytes = rt.settings.max_image_bytes
    data: bytes | None = None
    if _is_multipart(request):
        form = await read_form(request, max_files=1, max_fields=10)
        try:
            fields = {k: v for k, v in form.items() if not isinstance(v, UploadFile)}
            upload = form.get("file")
            if isinstance(upload, UploadFile):
                data = await upload.read(max_bytes + 1)
                if len(data) > max_bytes:
                    raise TooLarge(f"the image is larger than {max_bytes} bytes", field="file")
                fields.setdefault("image_name", upload.filename or "")
            elif isinstance(upload, str) and upload:
                data = _b64(upload, max_bytes)
        finally:
            await form.close()
        image_url = str(fields.get("image_url") or "") or None
        image_name = str(fields.get("image_name") or "") or None
        increase = _flag(fields.get("increase_resolution"), "increase_resolution", True)
        moderate = _flag(fields.get("content_moderation"), "content_moderation", False)
    else:
        body = await _json_body(request, ImageCreate)
        data = _b64(body.file, max_bytes) if body.file else None
        image_url, image_name, increase = body.image_url, body.image_name, body.increase_resolution
        moderate = body.content_moderation
    if data is not None and image_url:
        raise InvalidInput("send either file or image_url, not both", field="file")
    if data is None and not image_url:
        raise InvalidInput("file or image_url is required", field="file")
    field = "file"
    if data is None and image_url:
        data = await run_in_threadpool(svc.fetch_image, rt, image_url, org.organization_id, rt.outbound)
        field = "image_url"
        image_name = image_name or image_url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    image = await run_in_threadpool(
        lambda: svc.upload_image(
            rt,
            org.organization_id,
            dataset_id,
            data or b"",
            image_name=image_name,
            increase_resolution=increase,
            upload_source_url=image_url,
            field=field,
            moderate=_moderator(rt, moderate),
        )
    )
    return render_image(image, base_url, signer)


@router.get(
    "",
    response_model=list[ImagePublic],
    summary="List a dataset's images",
    description="Without query parameters: every image, as Bria's API answers. Tailor extensions: "
    "`limit`/`offset` page through the images (id order), `caption_state`, `flag` and `search` "
    "filter them; the `X-Total-Count` header holds how many images match, all pages together.",
)
def list_images(
    org: CurrentOrg,
    rt: RuntimeDep,
    base_url: BaseUrl,
    signer: Signer,
    response: Response,
    dataset_id: Id,
    limit: Annotated[
        int | None, Query(ge=1, le=MAX_PAGE, description=f"Tailor: images per page (1-{MAX_PAGE}).")
    ] = None,
    offset: Annotated[int, Query(ge=0, le=ID_MAX, description="Tailor: images to skip.")] = 0,
    caption_state: Annotated[
        CaptionState | None, Query(description="Tailor: only images whose caption is in this state.")
    ] = None,
    flag: Annotated[
        Flag | None,
        Query(description="Tailor: only images the readiness report flags so (`GET .../report`)."),
    ] = None,
    search: Annotated[
        str | None,
        Query(max_length=200, description="Tailor: case-insensitive text in the image name or the caption."),
    ] = None,
) -> list[dict[str, Any]]:
    query = svc.ImageQuery(
        caption_state=caption_state,
        flag=flag,
        search=(search or "").strip() or None,
        limit=limit,
        offset=offset,
    )
    found = svc.find_images(rt, org.organization_id, dataset_id, query)
    response.headers["X-Total-Count"] = str(found.total)
    return [render_image(i, base_url, signer) for i in found.images]


@router.post(
    "/delete",
    response_model=BulkDeleteResult,
    summary="Delete several images at once (Tailor)",
    description="Tailor extension: deletes every listed image of the dataset in one transaction, or "
    "none (404 naming the ids that are not in the dataset; 409 on a completed dataset).",
)
def delete_images(org: CurrentOrg, rt: RuntimeDep, dataset_id: Id, body: BulkDelete) -> dict[str, Any]:
    ids = list(dict.fromkeys(body.image_ids))
    deleted = svc.delete_images(rt, org.organization_id, dataset_id, ids)
    return {"deleted": deleted, "image_ids": ids}


@router.get("/{image_id}", response_model=ImagePublic, summary="Get an image")
def get_image(
    org: CurrentOrg, rt: RuntimeDep, base_url: BaseUrl, signer: Signer, dataset_id: Id, image_id: Id
) -> dict[str, Any]:
    return render_image(svc.get_image(rt, org.organization_id, dataset_id, image_id), base_url, signer)


@router.put("/{image_id}", response_model=ImagePublic, summary="Set or regenerate an image's caption")
def update_image(
    org: CurrentOrg,
    rt: RuntimeDep,
    base_url: BaseUrl,
    signer: Signer,
    dataset_id: Id,
    image_id: Id,
    body: ImageUpdate,
) -> dict[str, Any]:
    image = svc.update_image(
        rt,
        org.organization_id,
        dataset_id,
        image_id,
        caption=body.caption,
        regenerate_caption=body.regenerate_caption,
    )
    return render_image(image, base_url, signer)


@router.delete("/{image_id}", status_code=204, response_class=Response, summary="Delete an image")
def delete_image(org: CurrentOrg, rt: RuntimeDep, dataset_id: Id, image_id: Id) -> Response:
    svc.delete_image(rt, org.organization_id, dataset_id, image_id)
    return Response(status_code=204)
