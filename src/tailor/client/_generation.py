"""v2 calls (generation, structured prompts, status): request bodies and answers."""

from __future__ import annotations

import json
from typing import Any

from tailor.client._core import Call, body
from tailor.client._errors import RequestFailedError
from tailor.client._files import FileInput, image_string
from tailor.client._models import GenerationResult, RequestAccepted, RequestStatus

STATUS = "/v2/status/{request_id}"
REQUEST_EVENTS = "/v2/status/{request_id}/events"


def _sp(value: str | dict[str, Any] | None) -> str | None:
    return json.dumps(value) if isinstance(value, dict) else value


def image_call(
    *,
    prompt: str | None,
    model_id: int | str | None,
    structured_prompt: str | dict[str, Any] | None,
    seed: int | None,
    aspect_ratio: str | None,
    influence: float | None,
    negative_prompt: str | None,
    guidance_scale: float | None,
    steps_num: int | None,
    webhook_url: str | None,
    extra: dict[str, Any],
) -> Call:
    """``/v2/image/generate/tailored`` with a model, ``/v2/image/generate`` (base model) without."""
    payload = body(
        prompt=prompt,
        structured_prompt=_sp(structured_prompt),
        seed=seed,
        aspect_ratio=aspect_ratio,
        negative_prompt=negative_prompt,
        guidance_scale=guidance_scale,
        steps_num=steps_num,
        webhook_url=webhook_url,
        sync=False,
        **extra,
    )
    if model_id is None:
        return Call("POST", "/v2/image/generate", json=payload)
    payload["tailored_model_id"] = str(model_id)
    if influence is not None:
        payload["tailored_model_influence"] = influence
    return Call("POST", "/v2/image/generate/tailored", json=payload)


def edit_call(
    *,
    images: FileInput | list[FileInput],
    instruction: str | None,
    structured_instruction: str | dict[str, Any] | None,
    model_id: int | str | None,
    mask: FileInput | None,
    seed: int | None,
    influence: float | None,
    negative_prompt: str | None,
    guidance_scale: float | None,
    steps_num: int | None,
    webhook_url: str | None,
    extra: dict[str, Any],
) -> Call:
    """``/v2/image/edit/tailored`` with a model (up to 5 images), ``/v2/image/edit`` without (one)."""
    listed = images if isinstance(images, list) else [images]
    payload = body(
        images=[image_string(i) for i in listed],
        instruction=instruction,
        structured_instruction=_sp(structured_instruction),
        mask=None if mask is None else image_string(mask),
        seed=seed,
        negative_prompt=negative_prompt,
        guidance_scale=guidance_scale,
        steps_num=steps_num,
        webhook_url=webhook_url,
        sync=False,
        **extra,
    )
    if model_id is None:
        return Call("POST", "/v2/image/edit", json=payload, timeout=300)
    payload["tailored_model_id"] = str(model_id)
    if influence is not None:
        payload["tailored_model_influence"] = influence
    return Call("POST", "/v2/image/edit/tailored", json=payload, timeout=300)


def structured_prompt_call(
    *,
    prompt: str | None,
    model_id: int | str | None,
    structured_prompt: str | dict[str, Any] | None,
    seed: int | None,
    webhook_url: str | None,
    extra: dict[str, Any],
) -> Call:
    payload = body(
        prompt=prompt,
        structured_prompt=_sp(structured_prompt),
        seed=seed,
        webhook_url=webhook_url,
        sync=False,
        **extra,
    )
    if model_id is None:
        return Call("POST", "/v2/structured_prompt/generate", json=payload)
    payload["tailored_model_id"] = str(model_id)
    return Call("POST", "/v2/structured_prompt/generate/tailored", json=payload)


def accepted_or_result(data: Any) -> GenerationResult | RequestAccepted:
    """A v2 answer: finished (``result``) or accepted (``request_id`` to poll)."""
    if isinstance(data, dict) and isinstance(data.get("result"), dict):
        return GenerationResult.model_validate(data)
    return RequestAccepted.model_validate(data)


def finished(st: RequestStatus) -> GenerationResult | None:
    """The result when the status is COMPLETED; raises RequestFailedError on ERROR."""
    if st.status == "COMPLETED":
        return GenerationResult.model_validate({"request_id": st.request_id, "result": st.result or {}})
    if st.status == "ERROR":
        raise RequestFailedError(st.request_id or "", st.error_message, st)
    return None
