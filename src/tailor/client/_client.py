"""``Tailor``: the synchronous entry point of the SDK."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx

from tailor.client._core import Call, SyncCore
from tailor.client._datasets import Datasets
from tailor.client._errors import TailorTimeoutError
from tailor.client._files import FileInput
from tailor.client._generation import (
    REQUEST_EVENTS,
    STATUS,
    accepted_or_result,
    diff_call,
    edit_call,
    finished,
    image_call,
    legacy_call,
    lite_image_call,
    lite_structured_prompt_call,
    structured_prompt_call,
    video_call,
)
from tailor.client._generations import Generations
from tailor.client._images import Images
from tailor.client._models import (
    Event,
    GenerationResult,
    Health,
    LegacyResult,
    Model,
    RequestAccepted,
    RequestStatus,
)
from tailor.client._projects import Projects
from tailor.client._trained_models import Models

StatusFn = Callable[[RequestStatus], None]


def _http_base(base_url: str | None, http_client: httpx.Client | httpx.AsyncClient | None) -> str | None:
    if base_url is None and http_client is not None and str(http_client.base_url):
        return str(http_client.base_url)
    return base_url


class Tailor:
    """Synchronous client. ``Tailor()`` reads TAILOR_URL / TAILOR_TOKEN / the token file.

    Pass ``transport`` (e.g. ``httpx.ASGITransport``-like sync transports) or a ready ``http_client``
    to talk to an in-process app.
    """

    def __init__(
        self,
        base_url: str | None = None,
        token: str | None = None,
        *,
        timeout: float = 60.0,
        max_retries: int = 3,
        backoff: float = 0.5,
        transport: httpx.BaseTransport | None = None,
        http_client: httpx.Client | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self._core = SyncCore(
            _http_base(base_url, http_client),
            token,
            timeout=timeout,
            max_retries=max_retries,
            backoff=backoff,
            headers=headers,
            http_client=http_client,
            transport=transport,
        )
        self.projects = Projects(self._core)
        self.datasets = Datasets(self._core)
        self.images = Images(self._core)
        self.models = Models(self._core)
        self.generations = Generations(self._core)

    @property
    def base_url(self) -> str:
        return self._core.base_url

    def __enter__(self) -> Tailor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._core.close()

    def health(self) -> Health:
        return Health.model_validate(self._core.run(Call("GET", "/health")))

    def generate(
        self,
        prompt: str | None = None,
        *,
        model_id: int | str | None = None,
        structured_prompt: str | dict[str, Any] | None = None,
        seed: int | None = None,
        aspect_ratio: str | None = None,
        influence: float | None = None,
        negative_prompt: str | None = None,
        guidance_scale: float | None = None,
        steps_num: int | None = None,
        webhook_url: str | None = None,
        wait: bool = True,
        timeout: float = 600,
        on_progress: StatusFn | None = None,
        **extra: Any,
    ) -> GenerationResult | RequestAccepted:
        """Generate an image with a tailored model (``model_id``) or the base model (no ``model_id``).

        ``prompt`` alone: a new image; ``structured_prompt`` (+ ``seed``): recreate; both: refine.
        With ``wait`` (default) returns the finished GenerationResult, else the RequestAccepted.
        """
        call = image_call(
            prompt=prompt,
            model_id=model_id,
            structured_prompt=structured_prompt,
            seed=seed,
            aspect_ratio=aspect_ratio,
            influence=influence,
            negative_prompt=negative_prompt,
            guidance_scale=guidance_scale,
            steps_num=steps_num,
            webhook_url=webhook_url,
            extra=extra,
        )
        return self._submit(call, wait, timeout, on_progress)

    def generate_video(
        self,
        image: str | bytes | Path,
        *,
        model_id: int | str,
        seed: int | None = None,
        webhook_url: str | None = None,
        wait: bool = True,
        timeout: float = 3600,
        on_progress: StatusFn | None = None,
        **extra: Any,
    ) -> GenerationResult | RequestAccepted:
        """Animate an image a tailored model made into a 5-second MP4 (``result.video_url``).

        ``image``: an http(s) URL, base64 text, bytes or a file path. With ``wait`` (default)
        returns the finished GenerationResult (``on_progress`` sees each status, with
        ``progress.step`` / ``progress.total_steps`` while it renders), else the RequestAccepted.
        """
        call = video_call(image=image, model_id=model_id, seed=seed, webhook_url=webhook_url, extra=extra)
        return self._submit(call, wait, timeout, on_progress)

    def edit(
        self,
        images: FileInput | list[FileInput],
        instruction: str | None = None,
        *,
        structured_instruction: str | dict[str, Any] | None = None,
        model_id: int | str | None = None,
        mask: FileInput | None = None,
        seed: int | None = None,
        influence: float | None = None,
        negative_prompt: str | None = None,
        guidance_scale: float | None = None,
        steps_num: int | None = None,
        webhook_url: str | None = None,
        wait: bool = True,
        timeout: float = 600,
        on_progress: StatusFn | None = None,
        **extra: Any,
    ) -> GenerationResult | RequestAccepted:
        """Edit ``images`` (paths, bytes or URLs; one, or up to 5 with a FIBO 2 ``model_id``, referred
        to as ``<image_1>``...) as ``instruction`` says, optionally inside ``mask``. The result's
        ``structured_prompt`` passed back as ``structured_instruction`` with the same ``seed``
        recreates the image."""
        call = edit_call(
            images=images,
            instruction=instruction,
            structured_instruction=structured_instruction,
            model_id=model_id,
            mask=mask,
            seed=seed,
            influence=influence,
            negative_prompt=negative_prompt,
            guidance_scale=guidance_scale,
            steps_num=steps_num,
            webhook_url=webhook_url,
            extra=extra,
        )
        return self._submit(call, wait, timeout, on_progress)

    def generate_structured_prompt(
        self,
        prompt: str | None = None,
        *,
        model_id: int | str | None = None,
        structured_prompt: str | dict[str, Any] | None = None,
        seed: int | None = None,
        webhook_url: str | None = None,
        wait: bool = True,
        timeout: float = 600,
        on_progress: StatusFn | None = None,
        **extra: Any,
    ) -> GenerationResult | RequestAccepted:
        """A structured prompt (no image) from a prompt, tailored (``model_id``) or base."""
        call = structured_prompt_call(
            prompt=prompt,
            model_id=model_id,
            structured_prompt=structured_prompt,
            seed=seed,
            webhook_url=webhook_url,
            extra=extra,
        )
        return self._submit(call, wait, timeout, on_progress)

    def generate_lite(
        self,
        prompt: str | None = None,
        *,
        structured_prompt: str | dict[str, Any] | None = None,
        seed: int | None = None,
        aspect_ratio: str | None = None,
        webhook_url: str | None = None,
        wait: bool = True,
        timeout: float = 600,
        on_progress: StatusFn | None = None,
        **extra: Any,
    ) -> GenerationResult | RequestAccepted:
        """``/v2/image/generate/lite``: the base model with fewer steps (``images=[...]`` in extra)."""
        call = lite_image_call(
            prompt=prompt, structured_prompt=structured_prompt, seed=seed, aspect_ratio=aspect_ratio,
            webhook_url=webhook_url, extra=extra,
        )  # fmt: skip
        return self._submit(call, wait, timeout, on_progress)

    def generate_structured_prompt_lite(
        self,
        prompt: str | None = None,
        *,
        structured_prompt: str | dict[str, Any] | None = None,
        seed: int | None = None,
        webhook_url: str | None = None,
        wait: bool = True,
        timeout: float = 600,
        on_progress: StatusFn | None = None,
        **extra: Any,
    ) -> GenerationResult | RequestAccepted:
        """``/v2/structured_prompt/generate/lite``."""
        call = lite_structured_prompt_call(
            prompt=prompt, structured_prompt=structured_prompt, seed=seed, webhook_url=webhook_url,
            extra=extra,
        )  # fmt: skip
        return self._submit(call, wait, timeout, on_progress)

    def structured_prompt_from_diff(
        self,
        structured_prompt: str | dict[str, Any],
        user_adjusted_structured_prompt: str | dict[str, Any],
        *,
        seed: int | None = None,
        webhook_url: str | None = None,
        wait: bool = True,
        timeout: float = 600,
        on_progress: StatusFn | None = None,
        **extra: Any,
    ) -> GenerationResult | RequestAccepted:
        """``/v2/structured_prompt/generate_from_diff``: keep the user's edits, make the rest agree."""
        call = diff_call(
            structured_prompt, user_adjusted_structured_prompt, seed=seed, webhook_url=webhook_url,
            extra=extra,
        )  # fmt: skip
        return self._submit(call, wait, timeout, on_progress)

    def text_to_image_tailored(self, model_id: int | str, prompt: str, **fields: Any) -> LegacyResult:
        """The legacy v1 path: ``num_results``, ``aspect_ratio``, ``seed``, ``model_influence``,
        ``negative_prompt``, ``steps_num``, ``include_generation_prefix`` (sync unless ``sync=False``)."""
        return LegacyResult.model_validate(self._core.run(legacy_call(model_id, prompt, fields)))

    def _submit(
        self, call: Call, wait: bool, timeout: float, on_progress: StatusFn | None
    ) -> GenerationResult | RequestAccepted:
        answer = accepted_or_result(self._core.run(call))
        if not wait or isinstance(answer, GenerationResult):
            return answer
        return self.wait_for_request(answer.request_id, timeout=timeout, on_progress=on_progress)

    def cancel_request(self, request_id: str) -> RequestStatus:
        """Ask a v2 request to stop (a running clip stops between steps); returns its status now."""
        data = self._core.run(Call("POST", STATUS.format(request_id=request_id) + "/cancel"))
        return RequestStatus.model_validate(data)

    def status(self, request_id: str) -> RequestStatus:
        data = self._core.run(Call("GET", STATUS.format(request_id=request_id)))
        return RequestStatus.model_validate(data)

    def wait_for_request(
        self,
        request_id: str,
        *,
        timeout: float = 600,
        interval: float = 0.5,
        on_progress: StatusFn | None = None,
    ) -> GenerationResult:
        """Poll ``/v2/status`` until COMPLETED (returns the result) or ERROR (RequestFailedError)."""
        deadline = time.monotonic() + timeout
        delay = interval
        while True:
            st = self.status(request_id)
            if on_progress:
                on_progress(st)
            result = finished(st)
            if result is not None:
                return result
            if time.monotonic() > deadline:
                raise TailorTimeoutError(f"request {request_id} still {st.status} after {timeout}s")
            time.sleep(delay)
            delay = min(delay * 1.5, 3.0)

    def wait_for_training(
        self,
        model_id: int,
        *,
        timeout: float | None = None,
        interval: float = 2.0,
        on_progress: Callable[[Model], None] | None = None,
    ) -> Model:
        """Poll the model until training Completed or Stopped (TrainingFailedError when it fails)."""
        return self.models.wait_for_training(
            model_id, timeout=timeout, interval=interval, on_progress=on_progress
        )

    def events(self, request_id: str) -> Iterator[Event]:
        """A request's progress as server-sent events."""
        return self._core.events(REQUEST_EVENTS.format(request_id=request_id))

    def fetch(self, url: str) -> bytes:
        """Download a result (image/video/adapter) from a signed link."""
        same_host = url.startswith(self.base_url) or url.startswith("/")
        headers = self._core._headers if same_host else {}
        r = self._core.http.get(url if not url.startswith("/") else self.base_url + url, headers=headers)
        return self._core._result(r) or b""

    def save(self, url: str, path: str | Path) -> Path:
        """Download a result to ``path``."""
        out = Path(path)
        out.write_bytes(self.fetch(url))
        return out
