"""SDK fixtures: the real app on the tiny model, in-process (ASGITransport) or live (uvicorn)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from tailor.client import AsyncTailor, Tailor
from tailor.config import Settings
from tests.client.support import tiny_settings


@pytest.fixture
def settings(tmp_path: Path, db_url: str, tiny_dir: Path) -> Settings:
    return tiny_settings(tmp_path / "home", db_url, tiny_dir)


@pytest.fixture
async def sdk(app, token: str) -> AsyncIterator[AsyncTailor]:  # type: ignore[no-untyped-def]
    """AsyncTailor talking to the in-process app."""
    transport = httpx.ASGITransport(app=app)
    async with AsyncTailor("http://tailor.test", token, transport=transport, backoff=0.01) as t:
        yield t


@pytest.fixture
def live(token: str, live_server: str) -> Iterator[Tailor]:
    """Tailor (sync) talking to a live uvicorn server with a worker."""
    with Tailor(live_server, token, backoff=0.05) as t:
        yield t
