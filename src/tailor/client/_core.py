"""The HTTP core shared by the sync and async clients: auth header, retries, error mapping, SSE."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from tailor import __version__
from tailor.client._config import resolve_token, resolve_url
from tailor.client._errors import TailorConnectionError, error_from_response
from tailor.client._files import FilePart
from tailor.client._models import Event

RETRY_STATUSES = frozenset({429, 503})
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
# Errors raised before the request reached the server: always safe to retry.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def body(**values: Any) -> dict[str, Any]:
    """A JSON body without the fields left as None."""
    return {k: v for k, v in values.items() if v is not None}


def items_of(data: Any, key: str) -> list[Any]:
    """List endpoints answer a list, or an object holding one (tolerate both)."""
    if isinstance(data, dict):
        for k in (key, "items", "data", "results"):
            if isinstance(data.get(k), list):
                return list(data[k])
        return []
    return list(data or [])


@dataclass
class Call:
    """One API call, independent of sync/async."""

    method: str
    path: str
    params: dict[str, Any] | None = None
    json: Any = None
    data: dict[str, Any] | None = None
    files: dict[str, FilePart] = field(default_factory=dict)
    timeout: float | None = None

    def httpx_kwargs(self) -> dict[str, Any]:
        kw: dict[str, Any] = {}
        if self.params:
            kw["params"] = {k: v for k, v in self.params.items() if v is not None}
        if self.json is not None:
            kw["json"] = self.json
        if self.data:
            kw["data"] = {k: _form_value(v) for k, v in self.data.items() if v is not None}
        if self.files:
            kw["files"] = {
                name: (part.filename, part.read(), part.content_type) for name, part in self.files.items()
            }
        if self.timeout is not None:
            kw["timeout"] = self.timeout
        return kw


def _form_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


class BaseClient:
    """Settings shared by :class:`Tailor` and :class:`AsyncTailor`."""

    def __init__(
        self,
        base_url: str | None,
        token: str | None,
        *,
        timeout: float,
        max_retries: int,
        backoff: float,
        headers: Mapping[str, str] | None,
    ) -> None:
        self.base_url = resolve_url(base_url)
        self.token = resolve_token(token)
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self._headers = {"user-agent": f"tailor-python/{__version__}", **(headers or {})}
        if self.token:
            self._headers["api_token"] = self.token

    def _retry_delay(self, attempt: int, response: httpx.Response | None) -> float:
        if response is not None:
            after = response.headers.get("retry-after")
            if after:
                try:
                    return min(float(after), 30.0)
                except ValueError:
                    pass
        return min(self.backoff * (2**attempt), 8.0) * (0.75 + random.random() / 2)

    def _can_retry_exc(self, call: Call, exc: Exception, attempt: int) -> bool:
        if attempt >= self.max_retries:
            return False
        if isinstance(exc, _NOT_SENT):
            return True
        return call.method in IDEMPOTENT and isinstance(exc, httpx.TransportError)

    def _can_retry_status(self, response: httpx.Response, attempt: int) -> bool:
        return attempt < self.max_retries and response.status_code in RETRY_STATUSES

    @staticmethod
    def _result(response: httpx.Response) -> Any:
        if response.status_code >= 400:
            raise error_from_response(response)
        if response.status_code == 204 or not response.content:
            return None
        ctype = response.headers.get("content-type", "")
        if "json" in ctype:
            return response.json()
        return response.content

    def _url(self, path: str) -> str:
        return path if path.startswith("http") else f"{self.base_url}{path}"

    def _connection_error(self, exc: Exception) -> TailorConnectionError:
        return TailorConnectionError(f"cannot reach Tailor at {self.base_url}: {exc}")


def _parse_sse(lines: list[str]) -> Event | None:
    name, data_lines, eid = "message", [], None
    for line in lines:
        if line.startswith(":"):
            continue
        key, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if key == "event":
            name = value
        elif key == "data":
            data_lines.append(value)
        elif key == "id":
            eid = value
    if not data_lines and name == "message":
        return None
    raw = "\n".join(data_lines)
    try:
        data: Any = json.loads(raw)
    except ValueError:
        data = raw
    return Event(event=name, data=data, id=eid)


class _SseBuffer:
    """Collects a stream's lines into events: ``feed`` each line, ``flush`` at the end."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def feed(self, line: str) -> Event | None:
        if line != "":
            self.lines.append(line)
            return None
        return self.flush()

    def flush(self) -> Event | None:
        lines, self.lines = self.lines, []
        return _parse_sse(lines) if lines else None


class SyncCore(BaseClient):
    """Runs calls with an ``httpx.Client``."""

    def __init__(self, *args: Any, http_client: httpx.Client | None, transport: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self._owns_http = http_client is None
        self.http = http_client or httpx.Client(
            base_url=self.base_url, transport=transport, timeout=self.timeout
        )

    def send(self, call: Call) -> httpx.Response:
        attempt = 0
        while True:
            try:
                response = self.http.request(
                    call.method, self._url(call.path), headers=self._headers, **call.httpx_kwargs()
                )
            except httpx.TransportError as exc:
                if not self._can_retry_exc(call, exc, attempt):
                    raise self._connection_error(exc) from exc
                time.sleep(self._retry_delay(attempt, None))
                attempt += 1
                continue
            if self._can_retry_status(response, attempt):
                time.sleep(self._retry_delay(attempt, response))
                attempt += 1
                continue
            return response

    def run(self, call: Call) -> Any:
        return self._result(self.send(call))

    def events(self, path: str, params: dict[str, Any] | None = None) -> Iterator[Event]:
        """Read a server-sent-events stream until the server closes it."""
        headers = {**self._headers, "accept": "text/event-stream"}
        try:
            with self.http.stream("GET", self._url(path), headers=headers, params=params, timeout=None) as r:
                if r.status_code >= 400:
                    r.read()
                    raise error_from_response(r)
                buf = _SseBuffer()
                for line in r.iter_lines():
                    if (event := buf.feed(line)) is not None:
                        yield event
                if (event := buf.flush()) is not None:
                    yield event
        except httpx.TransportError as exc:
            raise self._connection_error(exc) from exc

    def close(self) -> None:
        if self._owns_http:
            self.http.close()


class AsyncCore(BaseClient):
    """Runs calls with an ``httpx.AsyncClient``."""

    def __init__(self, *args: Any, http_client: httpx.AsyncClient | None, transport: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self._owns_http = http_client is None
        self.http = http_client or httpx.AsyncClient(
            base_url=self.base_url, transport=transport, timeout=self.timeout
        )

    async def send(self, call: Call) -> httpx.Response:
        attempt = 0
        while True:
            try:
                response = await self.http.request(
                    call.method, self._url(call.path), headers=self._headers, **call.httpx_kwargs()
                )
            except httpx.TransportError as exc:
                if not self._can_retry_exc(call, exc, attempt):
                    raise self._connection_error(exc) from exc
                await asyncio.sleep(self._retry_delay(attempt, None))
                attempt += 1
                continue
            if self._can_retry_status(response, attempt):
                await asyncio.sleep(self._retry_delay(attempt, response))
                attempt += 1
                continue
            return response

    async def run(self, call: Call) -> Any:
        return self._result(await self.send(call))

    async def events(self, path: str, params: dict[str, Any] | None = None) -> AsyncIterator[Event]:
        """Read a server-sent-events stream until the server closes it."""
        headers = {**self._headers, "accept": "text/event-stream"}
        try:
            async with self.http.stream(
                "GET", self._url(path), headers=headers, params=params, timeout=None
            ) as r:
                if r.status_code >= 400:
                    await r.aread()
                    raise error_from_response(r)
                buf = _SseBuffer()
                async for line in r.aiter_lines():
                    if (event := buf.feed(line)) is not None:
                        yield event
                if (event := buf.flush()) is not None:
                    yield event
        except httpx.TransportError as exc:
            raise self._connection_error(exc) from exc

    async def close(self) -> None:
        if self._owns_http:
            await self.http.aclose()
