"""Ids are never reused, and nothing of a deleted model answers for a later one (another tenant's)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from tailor.bootstrap import Runtime
from tailor.config import Settings
from tailor.store.db import session_scope
from tailor.store.tables import TailoredModel
from tests.conftest import make_settings, new_token
from tests.engine.api_helpers import SP, adapter_bytes, add_model, fetch_image, tiny_dir_for, wait_done


@pytest.fixture
def settings(tmp_path: Path, db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    tiny = tiny_dir_for(tmp_path_factory.getbasetemp())
    return make_settings(tmp_path / "home", db_url, base_model=str(tiny), device="cpu", max_steps=3)


PROJECT = {"project_name": "p", "ip_medium": "illustration", "ip_type": "stylized_scene"}


async def test_a_deleted_records_id_is_never_handed_out_again(
    client: httpx.AsyncClient, runtime: Runtime, token: str
) -> None:
    auth_a = {"api_token": token}
    auth_b = {"api_token": new_token(runtime, "org-b")}
    r = await client.post("/v1/tailored-gen/projects", json=PROJECT, headers=auth_a)
    first = r.json()["id"]
    assert (await client.delete(f"/v1/tailored-gen/projects/{first}", headers=auth_a)).status_code == 204
    r = await client.post("/v1/tailored-gen/projects", json=PROJECT, headers=auth_b)
    assert r.json()["id"] > first
    assert (await client.get(f"/v1/tailored-gen/projects/{first}", headers=auth_b)).status_code == 404


async def _generate(client: httpx.AsyncClient, auth: dict[str, str], model_id: int) -> bytes:
    body = {"tailored_model_id": str(model_id), "structured_prompt": SP, "seed": 11}
    r = await client.post("/v2/image/generate/tailored", json=body, headers=auth)
    assert r.status_code == 202, r.text
    done = await wait_done(client, auth, r.json()["request_id"])
    assert done["status"] == "COMPLETED", done
    return await fetch_image(client, done["result"]["image_url"])


async def test_a_deleted_models_links_files_and_cached_adapter_die_with_it(
    client: httpx.AsyncClient, runtime: Runtime, settings: Settings, token: str, worker: object
) -> None:
    tiny = Path(settings.base_model)
    auth_a, token_b = {"api_token": token}, new_token(runtime, "org-b")
    auth_b = {"api_token": token_b}
    model_a = add_model(runtime, token, adapter_bytes(tiny, 1))
    image_a = await _generate(client, auth_a, model_a)  # the worker now holds A's adapter
    link = (await client.get(f"/v1/tailored-gen/models/{model_a}/download", headers=auth_a)).json()
    download_a = link["download_url"]
    assert (await client.get(download_a)).status_code == 200
    with runtime.sessions() as s:
        prefix_a = s.scalar(select(TailoredModel.blob_prefix).where(TailoredModel.id == model_a))
    assert prefix_a and prefix_a.startswith("models/") and str(model_a) in prefix_a

    assert (await client.delete(f"/v1/tailored-gen/models/{model_a}", headers=auth_a)).status_code == 204
    assert (await client.get(download_a)).status_code == 404
    assert list(runtime.blobs.list(prefix_a)) == []

    model_b = add_model(runtime, token_b, adapter_bytes(tiny, 2))
    assert model_b > model_a
    with session_scope(runtime.sessions) as s:
        model = s.get(TailoredModel, model_b)
        assert model is not None and model.blob_prefix != prefix_a
        assert model.adapter_key and not model.adapter_key.startswith(prefix_a)
    image_b = await _generate(client, auth_b, model_b)
    assert image_b != image_a
    assert (await client.get(download_a)).status_code == 404
    generator = worker.rt.resources.loaded_generator  # type: ignore[attr-defined]
    assert all(not key.startswith(prefix_a) for key in generator.adapters.loaded_keys)
