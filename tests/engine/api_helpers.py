"""Shared pieces of the v2 generation tests: the tiny model, adapters, models in the store."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import httpx

from tailor.bootstrap import Runtime
from tailor.store import checkpoints as ckpt_store
from tailor.store.db import session_scope
from tailor.store.orgs import authenticate
from tailor.store.tables import TailoredModel
from tests.conftest import session_dir
from tests.engine.lora_helpers import add_completed_model, make_adapter

# A complete structured prompt (the shape bria-vgl validates).
SP = json.dumps(
    {
        "short_description": "A red house by a lake at sunset.",
        "objects": [
            {
                "description": "a red house",
                "location": "center",
                "relationship": "the main subject",
                "relative_size": "large within frame",
            }
        ],
        "background_setting": "A calm lake with hills behind.",
        "lighting": {"conditions": "sunset", "direction": "from the left", "shadows": "long, soft"},
        "aesthetics": {"composition": "centered", "color_scheme": "warm", "mood_atmosphere": "calm"},
        "photographic_characteristics": {
            "depth_of_field": "deep",
            "focus": "sharp on the house",
            "camera_angle": "eye level",
            "lens_focal_length": "35mm",
        },
        "style_medium": "photograph",
        "context": "a postcard",
        "artistic_style": "realistic",
    }
)


def tiny_dir_for(base: Path) -> Path:
    from tailor.engine.tiny import ensure_tiny_model

    return ensure_tiny_model(session_dir(base) / "tiny-models")


_ADAPTERS: dict[tuple[str, int], bytes] = {}


def adapter_bytes(tiny_dir: Path, seed: int) -> bytes:
    key = (str(tiny_dir), seed)
    if key not in _ADAPTERS:
        _ADAPTERS[key] = make_adapter(tiny_dir, seed)
    return _ADAPTERS[key]


def org_of(rt: Runtime, token: str) -> int:
    with rt.sessions() as s:
        principal = authenticate(s, token)
    assert principal is not None
    return principal.organization_id


def add_model(rt: Runtime, token: str, adapter: bytes | None, **kw: Any) -> int:
    """A model row (Completed by default) with its adapter in the blob store; returns its id."""
    with session_scope(rt.sessions) as s:
        return add_completed_model(s, rt.blobs, org_of(rt, token), adapter, **kw).id


def add_checkpoints(rt: Runtime, model_id: int, adapters: dict[int, bytes]) -> None:
    """Checkpoint records of a run (step -> adapter file), as training writes them."""
    with session_scope(rt.sessions) as s:
        model = s.get(TailoredModel, model_id)
        assert model is not None
        for step, data in adapters.items():
            key = f"{model.blob_prefix}checkpoints/{step:06d}/run1/adapter.safetensors"
            rt.blobs.put(key, data, "application/octet-stream")
            ckpt_store.save_checkpoint(
                s, model_id, step, adapter_key=key, adapter_sha256=hashlib.sha256(data).hexdigest()
            )


async def fetch_image(client: httpx.AsyncClient, url: str) -> bytes:
    r = await client.get(url)
    assert r.status_code == 200, r.text
    return r.content


async def wait_done(client: httpx.AsyncClient, auth: dict[str, str], request_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        r = await client.get(f"/v2/status/{request_id}", headers=auth)
        body = r.json()
        if body["status"] != "IN_PROGRESS":
            return body  # type: ignore[no-any-return]
        await _sleep(0.05)
    raise AssertionError("request did not finish")


async def _sleep(s: float) -> None:
    import asyncio

    await asyncio.sleep(s)
