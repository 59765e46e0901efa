"""Projects: ``/v1/tailored-gen/projects``."""

from __future__ import annotations

import builtins
from typing import Any

from tailor.client._core import AsyncCore, Call, SyncCore, body
from tailor.client._core import items_of as _items
from tailor.client._models import Dataset, Model, Project

P = "/v1/tailored-gen/projects"


def _create(
    project_name: str,
    ip_medium: str,
    ip_type: str,
    project_description: str | None,
    ip_name: str | None,
    ip_description: str | None,
    extra: dict[str, Any],
) -> Call:
    return Call(
        "POST",
        P,
        json=body(
            project_name=project_name,
            ip_medium=ip_medium,
            ip_type=ip_type,
            project_description=project_description,
            ip_name=ip_name,
            ip_description=ip_description,
            **extra,
        ),
    )


def _datasets(project_id: int, include_models: bool | None, include_models_ids: bool | None) -> Call:
    params = body(include_models=include_models, include_models_ids=include_models_ids)
    return Call("GET", f"{P}/{project_id}/datasets", params=params)


class Projects:
    """Projects of your organization."""

    def __init__(self, core: SyncCore) -> None:
        self._c = core

    def list(self) -> list[Project]:
        return [Project.model_validate(p) for p in _items(self._c.run(Call("GET", P)), "projects")]

    def create(
        self,
        project_name: str,
        *,
        ip_medium: str,
        ip_type: str,
        project_description: str | None = None,
        ip_name: str | None = None,
        ip_description: str | None = None,
        **extra: Any,
    ) -> Project:
        call = _create(project_name, ip_medium, ip_type, project_description, ip_name, ip_description, extra)
        return Project.model_validate(self._c.run(call))

    def get(self, project_id: int) -> Project:
        return Project.model_validate(self._c.run(Call("GET", f"{P}/{project_id}")))

    def update(self, project_id: int, **fields: Any) -> Project:
        """Change ``project_name``, ``project_description``, ``ip_name`` or ``ip_description``."""
        return Project.model_validate(self._c.run(Call("PUT", f"{P}/{project_id}", json=body(**fields))))

    def delete(self, project_id: int) -> None:
        self._c.run(Call("DELETE", f"{P}/{project_id}"))

    def datasets(
        self,
        project_id: int,
        *,
        include_models: bool | None = None,
        include_models_ids: bool | None = None,
    ) -> builtins.list[Dataset]:
        data = self._c.run(_datasets(project_id, include_models, include_models_ids))
        return [Dataset.model_validate(d) for d in _items(data, "datasets")]

    def models(self, project_id: int) -> builtins.list[Model]:
        data = self._c.run(Call("GET", f"{P}/{project_id}/models"))
        return [Model.model_validate(m) for m in _items(data, "models")]


class AsyncProjects:
    """Projects of your organization (async)."""

    def __init__(self, core: AsyncCore) -> None:
        self._c = core

    async def list(self) -> list[Project]:
        return [Project.model_validate(p) for p in _items(await self._c.run(Call("GET", P)), "projects")]

    async def create(
        self,
        project_name: str,
        *,
        ip_medium: str,
        ip_type: str,
        project_description: str | None = None,
        ip_name: str | None = None,
        ip_description: str | None = None,
        **extra: Any,
    ) -> Project:
        call = _create(project_name, ip_medium, ip_type, project_description, ip_name, ip_description, extra)
        return Project.model_validate(await self._c.run(call))

    async def get(self, project_id: int) -> Project:
        return Project.model_validate(await self._c.run(Call("GET", f"{P}/{project_id}")))

    async def update(self, project_id: int, **fields: Any) -> Project:
        """Change ``project_name``, ``project_description``, ``ip_name`` or ``ip_description``."""
        data = await self._c.run(Call("PUT", f"{P}/{project_id}", json=body(**fields)))
        return Project.model_validate(data)

    async def delete(self, project_id: int) -> None:
        await self._c.run(Call("DELETE", f"{P}/{project_id}"))

    async def datasets(
        self,
        project_id: int,
        *,
        include_models: bool | None = None,
        include_models_ids: bool | None = None,
    ) -> builtins.list[Dataset]:
        data = await self._c.run(_datasets(project_id, include_models, include_models_ids))
        return [Dataset.model_validate(d) for d in _items(data, "datasets")]

    async def models(self, project_id: int) -> builtins.list[Model]:
        data = await self._c.run(Call("GET", f"{P}/{project_id}/models"))
        return [Model.model_validate(m) for m in _items(data, "models")]
