"""Tailored models: create, train, stop, checkpoints, download: ``/v1/tailored-gen/models``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from tailor.client._core import AsyncCore, Call, SyncCore, body, items_of
from tailor.client._errors import TailorTimeoutError, TrainingFailedError
from tailor.client._models import (
    Checkpoint,
    CheckpointList,
    Event,
    Model,
    ModelDownload,
    TrainingEstimate,
)

M = "/v1/tailored-gen/models"
MODEL_EVENTS = M + "/{model_id}/events"


def _create(
    name: str, dataset_id: int, training_mode: str | None, description: str | None, extra: Any
) -> Call:
    payload = body(
        name=name, dataset_id=dataset_id, training_mode=training_mode, description=description, **extra
    )
    return Call("POST", M, json=payload)


def _start(model_id: int, params: dict[str, Any]) -> Call:
    return Call("POST", f"{M}/{model_id}/start_training", json=body(**params))


def _download(model_id: int, step: int | None) -> Call:
    return Call("GET", f"{M}/{model_id}/download", params=body(checkpoint_step=step))


def _complete(model_id: int, step: int | None) -> Call:
    return Call("POST", f"{M}/{model_id}/complete_from_checkpoint", json=body(checkpoint_step=step))


def _estimate(model_id: int, params: dict[str, Any]) -> Call:
    query = {k: v for k, v in params.items() if v is not None}
    return Call("GET", f"{M}/{model_id}/training_estimate", params=query or None)


def _upload(model_url: str, fields: dict[str, Any]) -> Call:
    return Call("POST", f"{M}/upload_model", json=body(model_url=model_url, **fields))


def _upload_done(model: Model) -> bool:
    if model.status == "Failed":
        raise TrainingFailedError(
            model, f"upload of model {model.id} failed: {model.error or 'unknown error'}"
        )
    return model.status != "Syncing"


def _model_or_get(data: Any) -> Model | None:
    return Model.model_validate(data) if isinstance(data, dict) and "id" in data else None


def _check_done(model: Model) -> bool:
    if model.status == "Failed":
        reason = model.error
        raise TrainingFailedError(
            model, f"training of model {model.id} failed" + (f": {reason}" if reason else "")
        )
    return model.status in ("Completed", "Stopped")


class Models:
    """Tailored models and their training."""

    def __init__(self, core: SyncCore) -> None:
        self._c = core

    def list(self, *, include_training_parameters: bool | None = None) -> list[Model]:
        params = body(include_training_parameters=include_training_parameters)
        data = self._c.run(Call("GET", M, params=params))
        return [Model.model_validate(m) for m in items_of(data, "models")]

    def create(
        self,
        name: str,
        dataset_id: int,
        *,
        training_mode: str | None = None,
        description: str | None = None,
        training_version: str | None = None,
        **extra: Any,
    ) -> Model:
        """Create a model on a dataset; ``training_mode`` is ``fully_automated`` (default) or ``expert``;
        ``training_version`` the base model, ``fibo`` (default) or ``fibo-2`` (Tailor's extension)."""
        if training_version is not None:
            extra = {**extra, "training_version": training_version}
        return Model.model_validate(self._c.run(_create(name, dataset_id, training_mode, description, extra)))

    def get(self, model_id: int) -> Model:
        return Model.model_validate(self._c.run(Call("GET", f"{M}/{model_id}")))

    def upload(self, model_url: str, **fields: Any) -> Model:
        """Bring your own LoRA (``upload_model``): ``model_name``, ``project_id`` or
        ``project_parameters``, ``description``, ``custom_metadata``. The model is ``Syncing``
        until the server has fetched and checked the file (see :meth:`wait_for_upload`)."""
        return Model.model_validate(self._c.run(_upload(model_url, fields)))

    def wait_for_upload(self, model_id: int, *, timeout: float = 600, interval: float = 1.0) -> Model:
        """Poll until the uploaded model is Completed (TrainingFailedError when it Failed)."""
        deadline = time.monotonic() + timeout
        while True:
            model = self.get(model_id)
            if _upload_done(model):
                return model
            if time.monotonic() > deadline:
                raise TailorTimeoutError(f"model {model_id} still {model.status} after {timeout}s")
            time.sleep(interval)

    def update(self, model_id: int, **fields: Any) -> Model:
        """Change ``name`` or ``description`` (and, where the server allows, ``active_model_version``)."""
        data = self._c.run(Call("PUT", f"{M}/{model_id}", json=body(**fields)))
        return _model_or_get(data) or self.get(model_id)

    def set_active_version(self, model_id: int, checkpoint_step: int | str) -> Model:
        """Serve the given checkpoint (its step, or ``"best"``) instead of the final weights."""
        return self.update(model_id, active_model_version=str(checkpoint_step))

    def evaluation(self, model_id: int) -> dict[str, Any]:
        """Tailor: the scores of every checkpoint, the base reference and the suggested checkpoint."""
        data: dict[str, Any] = self._c.run(Call("GET", f"{M}/{model_id}/evaluation"))
        return data

    def delete(self, model_id: int) -> None:
        self._c.run(Call("DELETE", f"{M}/{model_id}"))

    def training_estimate(self, model_id: int, **expert_params: Any) -> TrainingEstimate:
        """Tailor: expected duration, steps and checkpoint disk of a run with these parameters (none:
        those a start would choose), with its basis (this installation's measured runs or a default)."""
        return TrainingEstimate.model_validate(self._c.run(_estimate(model_id, expert_params)))

    def start_training(self, model_id: int, **expert_params: Any) -> Model:
        """Start training; expert models may pass ``learning_rate``, ``rank``, ``total_training_steps``…"""
        data = self._c.run(_start(model_id, expert_params))
        return _model_or_get(data) or self.get(model_id)

    def stop_training(self, model_id: int) -> Model:
        data = self._c.run(Call("POST", f"{M}/{model_id}/stop_training"))
        return _model_or_get(data) or self.get(model_id)

    def checkpoints(self, model_id: int) -> CheckpointList:
        return CheckpointList.model_validate(self._c.run(Call("GET", f"{M}/{model_id}/checkpoints")))

    def checkpoint(self, model_id: int, step: int) -> Checkpoint:
        return Checkpoint.model_validate(self._c.run(Call("GET", f"{M}/{model_id}/checkpoints/{step}")))

    def delete_checkpoint(self, model_id: int, step: int) -> None:
        self._c.run(Call("DELETE", f"{M}/{model_id}/checkpoints/{step}"))

    def download(self, model_id: int, *, checkpoint_step: int | None = None) -> ModelDownload:
        """A signed link to the adapter weights, and the base model they apply to: the served
        version, or ``checkpoint_step`` (Tailor; a Stopped model's latest checkpoint by default)."""
        return ModelDownload.model_validate(self._c.run(_download(model_id, checkpoint_step)))

    def complete_from_checkpoint(self, model_id: int, checkpoint_step: int | None = None) -> Model:
        """Tailor: a Stopped model becomes Completed, serving ``checkpoint_step`` (default: its latest)."""
        return Model.model_validate(self._c.run(_complete(model_id, checkpoint_step)))

    def events(self, model_id: int) -> Iterator[Event]:
        """The training's progress as server-sent events."""
        return self._c.events(MODEL_EVENTS.format(model_id=model_id))

    def wait_for_training(
        self,
        model_id: int,
        *,
        timeout: float | None = None,
        interval: float = 2.0,
        on_progress: Callable[[Model], None] | None = None,
    ) -> Model:
        """Poll until training is Completed (or Stopped); raises TrainingFailedError when it fails."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            model = self.get(model_id)
            if on_progress:
                on_progress(model)
            if _check_done(model):
                return model
            if deadline is not None and time.monotonic() > deadline:
                raise TailorTimeoutError(f"model {model_id} still {model.status} after {timeout}s")
            time.sleep(interval)


class AsyncModels:
    """Tailored models and their training (async)."""

    def __init__(self, core: AsyncCore) -> None:
        self._c = core

    async def list(self, *, include_training_parameters: bool | None = None) -> list[Model]:
        params = body(include_training_parameters=include_training_parameters)
        data = await self._c.run(Call("GET", M, params=params))
        return [Model.model_validate(m) for m in items_of(data, "models")]

    async def create(
        self,
        name: str,
        dataset_id: int,
        *,
        training_mode: str | None = None,
        description: str | None = None,
        training_version: str | None = None,
        **extra: Any,
    ) -> Model:
        if training_version is not None:
            extra = {**extra, "training_version": training_version}
        call = _create(name, dataset_id, training_mode, description, extra)
        return Model.model_validate(await self._c.run(call))

    async def get(self, model_id: int) -> Model:
        return Model.model_validate(await self._c.run(Call("GET", f"{M}/{model_id}")))

    async def upload(self, model_url: str, **fields: Any) -> Model:
        return Model.model_validate(await self._c.run(_upload(model_url, fields)))

    async def wait_for_upload(self, model_id: int, *, timeout: float = 600, interval: float = 1.0) -> Model:
        deadline = time.monotonic() + timeout
        while True:
            model = await self.get(model_id)
            if _upload_done(model):
                return model
            if time.monotonic() > deadline:
                raise TailorTimeoutError(f"model {model_id} still {model.status} after {timeout}s")
            await asyncio.sleep(interval)

    async def update(self, model_id: int, **fields: Any) -> Model:
        data = await self._c.run(Call("PUT", f"{M}/{model_id}", json=body(**fields)))
        return _model_or_get(data) or await self.get(model_id)

    async def set_active_version(self, model_id: int, checkpoint_step: int | str) -> Model:
        return await self.update(model_id, active_model_version=str(checkpoint_step))

    async def evaluation(self, model_id: int) -> dict[str, Any]:
        data: dict[str, Any] = await self._c.run(Call("GET", f"{M}/{model_id}/evaluation"))
        return data

    async def delete(self, model_id: int) -> None:
        await self._c.run(Call("DELETE", f"{M}/{model_id}"))

    async def training_estimate(self, model_id: int, **expert_params: Any) -> TrainingEstimate:
        return TrainingEstimate.model_validate(await self._c.run(_estimate(model_id, expert_params)))

    async def start_training(self, model_id: int, **expert_params: Any) -> Model:
        data = await self._c.run(_start(model_id, expert_params))
        return _model_or_get(data) or await self.get(model_id)

    async def stop_training(self, model_id: int) -> Model:
        data = await self._c.run(Call("POST", f"{M}/{model_id}/stop_training"))
        return _model_or_get(data) or await self.get(model_id)

    async def checkpoints(self, model_id: int) -> CheckpointList:
        data = await self._c.run(Call("GET", f"{M}/{model_id}/checkpoints"))
        return CheckpointList.model_validate(data)

    async def checkpoint(self, model_id: int, step: int) -> Checkpoint:
        data = await self._c.run(Call("GET", f"{M}/{model_id}/checkpoints/{step}"))
        return Checkpoint.model_validate(data)

    async def delete_checkpoint(self, model_id: int, step: int) -> None:
        await self._c.run(Call("DELETE", f"{M}/{model_id}/checkpoints/{step}"))

    async def download(self, model_id: int, *, checkpoint_step: int | None = None) -> ModelDownload:
        return ModelDownload.model_validate(await self._c.run(_download(model_id, checkpoint_step)))

    async def complete_from_checkpoint(self, model_id: int, checkpoint_step: int | None = None) -> Model:
        return Model.model_validate(await self._c.run(_complete(model_id, checkpoint_step)))

    def events(self, model_id: int) -> AsyncIterator[Event]:
        return self._c.events(MODEL_EVENTS.format(model_id=model_id))

    async def wait_for_training(
        self,
        model_id: int,
        *,
        timeout: float | None = None,
        interval: float = 2.0,
        on_progress: Callable[[Model], None] | None = None,
    ) -> Model:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            model = await self.get(model_id)
            if on_progress:
                on_progress(model)
            if _check_done(model):
                return model
            if deadline is not None and time.monotonic() > deadline:
                raise TailorTimeoutError(f"model {model_id} still {model.status} after {timeout}s")
            await asyncio.sleep(interval)
