"""``upload_model``: bring your own LoRA. The API side checks the request and creates the model
(status ``Syncing``) with its job; the job (``worker/handlers/upload_model.py``) fetches the file
through the URL guard, checks it against the served transformer and completes the model, or the
failure hook marks it ``Failed`` with the reason.
"""

from __future__ import annotations

import posixpath
from typing import Any
from urllib.parse import unquote, urlsplit

from sqlalchemy.orm import Session

from tailor.domain import models as rules
from tailor.domain import projects as project_rules
from tailor.domain.enums import IpType, ModelStatus
from tailor.domain.errors import InvalidInput, NotFound, Unprocessable, UnsupportedMedia
from tailor.domain.jobs import UPLOAD_MODEL, UploadModel
from tailor.infra.safe_fetch import check_public_url
from tailor.jobs.queue import enqueue
from tailor.store import models as store
from tailor.store.projects import add_project
from tailor.store.tables import Job, TailoredModel

FIELD = "model_url"
SUFFIX = ".safetensors"


def _file_name(url: str) -> str:
    """The last path segment of ``url`` (decoded), or ''."""
    return posixpath.basename(unquote(urlsplit(url).path))


def check_model_url(url: Any, *, allow_private: bool) -> str:
    if not isinstance(url, str) or not url.strip():
        raise InvalidInput("model_url is required: the URL of a .safetensors LoRA file", field=FIELD)
    url = url.strip()
    try:
        check_public_url(url, allow_private=allow_private, field=FIELD)
    except InvalidInput as e:
        raise Unprocessable(e.message, field=FIELD) from None
    name = _file_name(url)
    if "." in name and not name.lower().endswith(SUFFIX):
        raise UnsupportedMedia(f"model_url must point to a {SUFFIX} file (got {name!r})", field=FIELD)
    return url


def _project_id(
    session: Session, organization_id: int, project_id: int | None, params: dict[str, Any] | None, name: str
) -> int:
    if project_id is not None:
        if store.get_project(session, organization_id, project_id) is None:
            raise NotFound(f"project {project_id} not found", field="project_id")
        return project_id
    if params is None:
        raise InvalidInput(
            "give project_id, or project_parameters to create a new project", field="project_id"
        )
    ip_medium = params.get("ip_medium")
    if ip_medium is None:
        raise InvalidInput(
            "project_parameters.ip_medium is required (photography or illustration)",
            field="project_parameters.ip_medium",
        )
    ip_type = params.get("ip_type") or IpType.other.value
    project_rules.check_project(ip_medium=ip_medium, ip_type=ip_type, ip_name=None, ip_description=None)
    project = add_project(
        session,
        organization_id,
        project_name=params.get("project_name") or name,
        project_description=params.get("project_description"),
        ip_medium=ip_medium,
        ip_type=ip_type,
        training_version=rules.FIBO_VERSION,
    )
    return project.id


def start_upload(
    session: Session,
    organization_id: int,
    *,
    model_url: Any,
    model_name: str | None,
    project_id: int | None,
    project_parameters: dict[str, Any] | None,
    description: str | None = None,
    custom_metadata: Any = None,
    allow_private_urls: bool,
) -> TailoredModel:
    """Create the model (``Syncing``) and enqueue the job that fetches and checks its file."""
    url = check_model_url(model_url, allow_private=allow_private_urls)
    name = (model_name or "").strip() or _file_name(url).removesuffix(SUFFIX) or "uploaded model"
    if len(name) > 500:
        raise InvalidInput("model_name must be at most 500 characters", field="model_name")
    metadata = rules.custom_metadata(custom_metadata) if custom_metadata is not None else None
    pid = _project_id(session, organization_id, project_id, project_parameters, name)
    model = store.add_model(
        session,
        organization_id=organization_id,
        project_id=pid,
        dataset_id=None,
        name=name,
        description=description,
        custom_metadata=metadata,
        status=ModelStatus.Syncing.value,
        training_version=rules.FIBO_VERSION,
        training_parameters={},
        source_url=url,
    )
    job = enqueue(session, UPLOAD_MODEL, UploadModel(model_id=model.id), organization_id=organization_id)
    model.job_id = job.id
    session.flush()
    return model


def upload_failed(session: Session, job: Job) -> None:
    """Failure hook: a model whose upload job ended without completing is ``Failed``, with the reason."""
    model = store.get_model_by_id(session, int((job.payload or {}).get("model_id", 0)))
    if model is None or model.status != ModelStatus.Syncing:
        return
    model.status = rules.transition(model.status, ModelStatus.Failed)
    model.error = job.error or "the uploaded model could not be fetched"
