"""The litellm provider: any model litellm reaches (Gemini, OpenAI, Anthropic, or an OpenAI-compatible
server such as vLLM or Ollama serving a local VLM via ``TAILOR_VLM_BASE_URL``).

Each call runs under a per-provider concurrency limit (``vlm_concurrency``, shared by the whole
process), with a timeout, jittered exponential backoff on transient failures (429, 5xx, timeouts,
connection errors; a ``Retry-After`` header is honoured up to 10 s), and an in-memory LRU cache of
identical requests whose replies were valid.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import threading
import time
from collections import OrderedDict
from typing import Any

import litellm
from litellm import exceptions as lx

import tailor.bridge  # noqa: F401  (litellm cost-map setting)
from tailor.bridge import llm_messages as msgs
from tailor.bridge.provider_base import ReplyCheck, VlmInvalidOutput, VlmProvider, VlmUnavailable
from tailor.config import Settings

log = logging.getLogger(__name__)
litellm.suppress_debug_info = True
litellm.telemetry = False

#: Worth another attempt after a pause.
TRANSIENT = (
    lx.RateLimitError,
    lx.InternalServerError,
    lx.ServiceUnavailableError,
    lx.BadGatewayError,
    lx.APIConnectionError,
    lx.Timeout,
)
#: Retrying cannot help (credentials, unknown model, a request the provider refuses).
PERMANENT = (
    lx.AuthenticationError,
    lx.PermissionDeniedError,
    lx.NotFoundError,
    lx.BadRequestError,
    lx.UnprocessableEntityError,
    lx.ContentPolicyViolationError,
)
MAX_BACKOFF_S = 10.0

_semaphores: dict[tuple[str, str | None], threading.BoundedSemaphore] = {}
_semaphores_lock = threading.Lock()


def provider_semaphore(model: str, base_url: str | None, limit: int) -> threading.BoundedSemaphore:
    """The process-wide concurrency limit for one provider (model + endpoint)."""
    with _semaphores_lock:
        sem = _semaphores.get((model, base_url))
        if sem is None or getattr(sem, "_limit", None) != limit:
            sem = threading.BoundedSemaphore(limit)
            sem._limit = limit  # type: ignore[attr-defined]
            _semaphores[(model, base_url)] = sem
        return sem


class ReplyCache:
    """A thread-safe LRU of checked replies, keyed by a hash of model + messages + parameters."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(*parts: Any) -> str:
        blob = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()

    def get(self, key: str) -> str | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: str, value: str) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


def _backoff(attempt: int, base: float) -> float:
    """Full jitter: uniform in [0, base * 2**attempt], capped."""
    return random.uniform(0, min(MAX_BACKOFF_S, base * 2**attempt))


def _retry_after(e: Exception | None) -> float:
    """The provider's ``Retry-After`` (seconds) on a 429/503, capped; 0 when absent."""
    for headers in (
        getattr(e, "litellm_response_headers", None),
        getattr(getattr(e, "response", None), "headers", None),
    ):
        try:
            value = headers.get("retry-after") if headers is not None else None
            if value is not None:
                return min(MAX_BACKOFF_S, max(0.0, float(value)))
        except (TypeError, ValueError, AttributeError):
            continue
    return 0.0


def _reason(e: Exception) -> str:
    text = str(e).replace("\n", " ")
    return f"{type(e).__name__}: {text[:300]}"


class LiteLLMProvider(VlmProvider):
    """Calls a VLM through litellm, with limits, retries and a cache."""

    def __init__(self, settings: Settings) -> None:
        self.model = settings.vlm
        self.name = f"litellm:{settings.vlm}"
        self.base_url = settings.vlm_base_url
        self.api_key = settings.vlm_api_key
        self.timeout_s = settings.vlm_timeout_s
        self.max_retries = max(0, settings.vlm_max_retries)
        self.backoff_s = settings.vlm_retry_backoff_s
        self.semaphore = provider_semaphore(self.model, self.base_url, settings.vlm_concurrency)
        self.cache = ReplyCache(settings.vlm_cache_size)

    # --- transport ---------------------------------------------------------------------------
    def _params(self, seed: int | None, *, json_reply: bool) -> dict[str, Any]:
        params: dict[str, Any] = {
            "temperature": 0.2,
            "max_tokens": 7000,
            "timeout": self.timeout_s,
            "num_retries": 0,
            "max_retries": 0,
            "drop_params": True,
        }
        if seed is not None:
            params["seed"] = seed
        if self.base_url:
            params["api_base"] = self.base_url
        if self.api_key:
            params["api_key"] = self.api_key
        if "gemini" in self.model.lower():
            config: dict[str, Any] = {"thinkingConfig": {"thinkingBudget": 0}}
            if json_reply:
                config["responseMimeType"] = "application/json"
            params["extra_body"] = {"generationConfig": config}
        elif json_reply:
            params["response_format"] = {"type": "json_object"}
        return params

    def _complete(self, messages: list[dict[str, Any]], params: dict[str, Any]) -> str:
        """One completion with retries; returns the reply text or raises VlmUnavailable."""
        last: Exception | None = None
        for attempt in range(self.max_retries + 1):
            if attempt:
                delay = max(_backoff(attempt - 1, self.backoff_s), _retry_after(last))
                log.warning("VLM %s: %s; retry %d in %.2fs", self.model, _reason(last), attempt, delay)  # type: ignore[arg-type]
                time.sleep(delay)
            try:
                with self.semaphore:
                    response = litellm.completion(model=self.model, messages=messages, **params)
            except PERMANENT as e:
                raise VlmUnavailable(f"the VLM provider refused the request ({_reason(e)})") from e
            except TRANSIENT as e:
                last = e
                continue
            except lx.APIError as e:  # other provider-side failures: treat as transient
                last = e
                continue
            choice = response.choices[0]
            content = getattr(choice.message, "content", None)
            if not content:
                reason = getattr(choice, "finish_reason", None)
                raise VlmInvalidOutput(f"the VLM returned an empty reply (finish_reason={reason})")
            return str(content)
        raise VlmUnavailable(
            f"the VLM provider failed after {self.max_retries + 1} attempts ({_reason(last)})"  # type: ignore[arg-type]
        ) from last

    def _run(
        self,
        task: str,
        messages: list[dict[str, Any]],
        check: ReplyCheck,
        *,
        seed: int | None = None,
        json_reply: bool = True,
    ) -> str:
        params = self._params(seed, json_reply=json_reply)
        key = ReplyCache.key(self.model, self.base_url, task, messages, seed)
        if (hit := self.cache.get(key)) is not None:
            return hit
        out = check(self._complete(messages, params))
        self.cache.put(key, out)
        return out

    # --- tasks -------------------------------------------------------------------------------
    def caption(self, image: bytes, visual_schema: dict[str, Any] | None, check: ReplyCheck) -> str:
        return self._run("caption", msgs.caption(image, visual_schema), check)

    def visual_schema(self, images: list[bytes], check: ReplyCheck) -> str:
        return self._run("visual_schema", msgs.visual_schema(images), check)

    def generate(
        self,
        prompt: str,
        *,
        visual_schema: dict[str, Any] | None,
        images: list[bytes] | None,
        seed: int | None,
        check: ReplyCheck,
    ) -> str:
        return self._run("generate", msgs.generate(prompt, visual_schema, images), check, seed=seed)

    def refine(
        self,
        structured_prompt: dict[str, Any],
        instruction: str,
        *,
        partial: bool,
        images: list[bytes] | None,
        seed: int | None,
        check: ReplyCheck,
    ) -> str:
        messages = msgs.refine(structured_prompt, instruction, partial=partial, images=images)
        return self._run("refine", messages, check, seed=seed)

    def prefix(self, images: list[bytes], check: ReplyCheck) -> str:
        return self._run("prefix", msgs.prefix(images), check, json_reply=False)
