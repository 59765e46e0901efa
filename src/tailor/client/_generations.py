"""A project's generation history (Tailor): ``/v1/tailored-gen/projects/{id}/generations``."""

from __future__ import annotations

from tailor.client._core import AsyncCore, Call, SyncCore, body
from tailor.client._models import Generation, GenerationPage

G = "/v1/tailored-gen/projects/{project_id}/generations"


def _list(project_id: int, page: int | None, page_size: int | None) -> Call:
    return Call("GET", G.format(project_id=project_id), params=body(page=page, page_size=page_size))


def _one(method: str, project_id: int, generation_id: int) -> Call:
    return Call(method, f"{G.format(project_id=project_id)}/{generation_id}")


class Generations:
    """Every image made with a project's models, newest first."""

    def __init__(self, core: SyncCore) -> None:
        self._c = core

    def list(
        self, project_id: int, *, page: int | None = None, page_size: int | None = None
    ) -> GenerationPage:
        return GenerationPage.model_validate(self._c.run(_list(project_id, page, page_size)))

    def get(self, project_id: int, generation_id: int) -> Generation:
        return Generation.model_validate(self._c.run(_one("GET", project_id, generation_id)))

    def delete(self, project_id: int, generation_id: int) -> None:
        """Remove the entry and its image."""
        self._c.run(_one("DELETE", project_id, generation_id))


class AsyncGenerations:
    """Every image made with a project's models, newest first (async)."""

    def __init__(self, core: AsyncCore) -> None:
        self._c = core

    async def list(
        self, project_id: int, *, page: int | None = None, page_size: int | None = None
    ) -> GenerationPage:
        return GenerationPage.model_validate(await self._c.run(_list(project_id, page, page_size)))

    async def get(self, project_id: int, generation_id: int) -> Generation:
        return Generation.model_validate(await self._c.run(_one("GET", project_id, generation_id)))

    async def delete(self, project_id: int, generation_id: int) -> None:
        await self._c.run(_one("DELETE", project_id, generation_id))
