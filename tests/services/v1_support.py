"""Helpers for the v1 API tests: create resources through HTTP, look at the blob store."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tailor.bootstrap import Runtime
from tailor.store.db import session_scope
from tailor.store.models import add_model as store_add_model

API = "/v1/tailored-gen"

CAPTION = json.dumps(
    {
        "short_description": "a green square on red",
        "background_setting": "plain red",
        "lighting": {"conditions": "soft", "direction": "front"},
        "aesthetics": {"composition": "centered", "color_scheme": "red, green", "mood_atmosphere": "calm"},
        "context": "a test image",
    }
)
SCHEMA = json.dumps({"style_medium": "flat illustration", "artistic_style": "minimal"})


async def make_project(client: httpx.AsyncClient, auth: dict[str, str], **overrides: Any) -> dict[str, Any]:
    body = {"project_name": "Icons", "ip_medium": "illustration", "ip_type": "icons"} | overrides
    r = await client.post(f"{API}/projects", json=body, headers=auth)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def make_dataset(
    client: httpx.AsyncClient, auth: dict[str, str], upload_type: str = "basic", project_id: int | None = None
) -> dict[str, Any]:
    if project_id is None:
        project_id = (await make_project(client, auth))["id"]
    body = {"project_id": project_id, "name": "set", "upload_type": upload_type}
    r = await client.post(f"{API}/datasets", json=body, headers=auth)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def upload(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    dataset_id: int,
    data: bytes,
    name: str = "a.jpg",
    **form: str,
) -> httpx.Response:
    return await client.post(
        f"{API}/datasets/{dataset_id}/images",
        files={"file": (name, data, "application/octet-stream")},
        data=form,
        headers=auth,
    )


def blob_keys(rt: Runtime) -> set[str]:
    return set(rt.blobs.list())


def add_model(rt: Runtime, dataset: dict[str, Any], status: str) -> int:
    """A model row in a given state (the training engineer's API creates them; here only the row)."""
    with session_scope(rt.sessions) as s:
        from tailor.store.tables import Dataset

        ds = s.get(Dataset, dataset["id"])
        assert ds is not None
        m = store_add_model(
            s,
            organization_id=ds.organization_id,
            project_id=ds.project_id,
            dataset_id=ds.id,
            name="m",
            status=status,
        )
        return m.id


def error_of(r: httpx.Response) -> str:
    body = r.json()
    assert set(body) == {"error", "request_id"}, body
    assert body["error"]["code"] == r.status_code
    return str(body["error"]["message"])
