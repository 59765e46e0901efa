"""v2 calls (generation, structured prompts, status): request bodies and answers."""

from __future__ import annotations

import base64
import json
from pathlib import Path
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


def lite_image_call(
    *,
    prompt: str | None,
    structured_prompt: str | dict[str, Any] | None,
    seed: int | None,
    aspect_ratio: str | None,
    webhook_url: str | None,
    extra: dict[str, Any],
) -> Call:
    """``/v2/image/generate/lite``: the same engine with fewer steps."""
    payload = body(
        prompt=prompt, structured_prompt=_sp(structured_prompt), seed=seed, aspect_ratio=aspect_ratio,
        webhook_url=webhook_url, sync=False, **extra,
    )  # fmt: skip
    return Call("POST", "/v2/image/generate/lite", json=payload)


def lite_structured_prompt_call(
    *, prompt: str | None, structured_prompt: str | dict[str, Any] | None, seed: int | None,
    webhook_url: str | None, extra: dict[str, Any],
) -> Call:  # fmt: skip
    payload = body(
        prompt=prompt, structured_prompt=_sp(structured_prompt), seed=seed, webhook_url=webhook_url,
        sync=False, **extra,
    )  # fmt: skip
    return Call("POST", "/v2/structured_prompt/generate/lite", json=payload)


def diff_call(
    structured_prompt: str | dict[str, Any], user_adjusted: str | dict[str, Any], *, seed: int | None,
    webhook_url: str | None, extra: dict[str, Any],
) -> Call:  # fmt: skip
    """``/v2/structured_prompt/generate_from_diff``."""
    payload = body(
        structured_prompt=_sp(structured_prompt), user_adjusted_structured_prompt=_sp(user_adjusted),
        seed=seed, webhook_url=webhook_url, sync=False, **extra,
    )  # fmt: skip
    return Call("POST", "/v2/structured_prompt/generate_from_diff", json=payload)


def legacy_call(model_id: int | str, prompt: str, fields: dict[str, Any]) -> Call:
    """The legacy ``/v1/text-to-image/tailored/{model_id}`` (v1 field names; sync by default)."""
    return Call("POST", f"/v1/text-to-image/tailored/{model_id}", json=body(prompt=prompt, **fields))


VIDEO = "/v2/video/generate/tailored/image-to-video"


def image_value(image: str | bytes | Path) -> str:
    """An image as the API takes it: an http(s) URL as is, bytes or a file as base64."""
    if isinstance(image, bytes):
        return base64.b64encode(image).decode()
    if isinstance(image, Path):
        return base64.b64encode(image.read_bytes()).decode()
    return image


def video_call(
    *,
    image: str | bytes | Path,
    model_id: int | str,
    seed: int | None,
    webhook_url: str | None,
    extra: dict[str, Any],
) -> Call:
    """``/v2/video/generate/tailored/image-to-video``: always asynchronous (202)."""
    payload = body(
        tailored_model_id=str(model_id),
        image=image_value(image),
        seed=seed,
        webhook_url=webhook_url,
        sync=False,
        **extra,
    )
    return Call("POST", VIDEO, json=payload)


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
