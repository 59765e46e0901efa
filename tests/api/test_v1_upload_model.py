"""``POST /v1/tailored-gen/models/upload_model``: bring your own LoRA, fetched and checked by a job."""

from __future__ import annotations

import asyncio
import io
import threading
import time
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tailor.bootstrap import Runtime
from tailor.config import Settings
from tailor.store.db import session_scope
from tailor.store.tables import TailoredModel
from tests.conftest import make_settings
from tests.engine.api_helpers import SP, adapter_bytes, add_model, fetch_image, tiny_dir_for, wait_done

BASE = "/v1/tailored-gen"
PROJECT = {"project_name": "mine", "ip_medium": "illustration", "ip_type": "stylized_scene"}


@pytest.fixture
def settings(tmp_path: Path, db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    tiny = tiny_dir_for(tmp_path_factory.getbasetemp())
    return make_settings(
        tmp_path / "home", db_url, base_model=str(tiny), device="cpu", max_steps=3, allow_private_urls=True
    )


class Files:
    """A plain HTTP server on loopback serving ``files`` (name -> bytes)."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        files = self.files

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                data = files.get(self.path.lstrip("/"))
                if data is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, name: str, data: bytes | None) -> str:
        """The URL of ``name``, served with ``data`` (None: not served, 404)."""
        if data is not None:
            self.files[name] = data
        return f"http://127.0.0.1:{self.server.server_address[1]}/{name}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def files() -> Iterator[Files]:
    f = Files()
    yield f
    f.close()


async def _project(client: httpx.AsyncClient, auth: dict) -> int:
    r = await client.post(f"{BASE}/projects", json=PROJECT, headers=auth)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


async def _settled(client: httpx.AsyncClient, auth: dict, model_id: int) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        body = (await client.get(f"{BASE}/models/{model_id}", headers=auth)).json()
        if body["status"] != "Syncing":
            return body  # type: ignore[no-any-return]
        await asyncio.sleep(0.05)
    raise AssertionError("the upload did not settle")


async def _image(client: httpx.AsyncClient, auth: dict, model_id: int) -> bytes:
    body = {"tailored_model_id": str(model_id), "structured_prompt": SP, "seed": 5}
    r = await client.post("/v2/image/generate/tailored", json=body, headers=auth)
    assert r.status_code == 202, r.text
    done = await wait_done(client, auth, r.json()["request_id"])
    assert done["status"] == "COMPLETED", done
    return await fetch_image(client, done["result"]["image_url"])


@pytest.mark.slow
async def test_a_lora_exported_by_tailor_round_trips(
    client: httpx.AsyncClient, runtime: Runtime, settings: Settings, token: str, worker: object, files: Files
) -> None:
    """download -> upload_model -> the same image at influence 1 (the ComfyUI layout's conversion
    is tested in tests/engine/test_lora_import.py)."""
    auth = {"api_token": token}
    original = add_model(runtime, token, adapter_bytes(Path(settings.base_model), 1))
    expected = await _image(client, auth, original)
    link = (await client.get(f"{BASE}/models/{original}/download", headers=auth)).json()
    archive = zipfile.ZipFile(io.BytesIO((await client.get(link["download_url"])).content))
    project_id = await _project(client, auth)

    for member in ("diffusers/pytorch_lora_weights.safetensors",):
        url = files.url(member.replace("/", "-"), archive.read(member))
        body = {"model_url": url, "model_name": "mine", "project_id": project_id, "custom_metadata": "m"}
        r = await client.post(f"{BASE}/models/upload_model", json=body, headers=auth)
        assert r.status_code == 200, r.text
        created = r.json()
        assert created["status"] == "Syncing" and created["project_id"] == project_id
        assert created["dataset_id"] is None and created["custom_metadata"] == "m"
        done = await _settled(client, auth, created["id"])
        assert done["status"] == "Completed", done.get("error")
        assert done["training_version"] == "fibo" and done["generation_prefix"] is None
        assert await _image(client, auth, created["id"]) == expected, member


async def test_files_that_are_not_a_lora_for_the_base_model_fail_with_the_reason(
    client: httpx.AsyncClient, runtime: Runtime, settings: Settings, token: str, worker: object, files: Files
) -> None:
    auth = {"api_token": token}
    good = adapter_bytes(Path(settings.base_model), 1)
    project_id = await _project(client, auth)
    bad = {
        "garbage.safetensors": (b"\x00" * 64, "not a safetensors file"),
        "truncated.safetensors": (good[: len(good) // 2], "offsets"),
        "missing.safetensors": (None, "404"),
    }
    for name, (data, reason) in bad.items():
        url = files.url(name, data)
        r = await client.post(
            f"{BASE}/models/upload_model", json={"model_url": url, "project_id": project_id}, headers=auth
        )
        assert r.status_code == 200, r.text
        done = await _settled(client, auth, r.json()["id"])
        assert done["status"] == "Failed" and reason in done["error"], (name, done)
        assert (
            await client.post(
                "/v2/image/generate/tailored",
                json={"tailored_model_id": str(done["id"]), "prompt": "x"},
                headers=auth,
            )
        ).status_code == 412
    with runtime.sessions() as s:
        assert all(m.adapter_key is None for m in s.query(TailoredModel).all())


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({}, 400, "model_url"),
        ({"model_url": "http://127.0.0.1:9/x.safetensors"}, 400, "project_id"),
        ({"model_url": "http://127.0.0.1:9/x.safetensors", "project_id": 999999}, 404, "project"),
        ({"model_url": "http://127.0.0.1:9/x.bin", "project_id": 1}, 415, "model_url"),
        ({"model_url": "ftp://example.com/x.safetensors", "project_id": 1}, 422, "model_url"),
        (
            {"model_url": "http://127.0.0.1:9/x.safetensors", "project_parameters": {"project_name": "p"}},
            400,
            "ip_medium",
        ),
        (
            {
                "model_url": "http://127.0.0.1:9/x.safetensors",
                "project_parameters": {"ip_medium": "photography", "ip_type": "icons"},
            },
            400,
            "illustration",
        ),
    ],
)
async def test_bad_requests_name_the_field(
    client: httpx.AsyncClient, auth: dict, body: dict, code: int, field: str
) -> None:
    r = await client.post(f"{BASE}/models/upload_model", json=body, headers=auth)
    assert r.status_code == code, r.text
    assert field in r.text


async def test_project_parameters_create_a_project_and_private_urls_are_refused(
    client: httpx.AsyncClient, runtime: Runtime, auth: dict
) -> None:
    body = {
        "model_url": "http://127.0.0.1:9/my%20style.safetensors",
        "project_parameters": {"ip_medium": "illustration", "project_description": "d"},
    }
    r = await client.post(f"{BASE}/models/upload_model", json=body, headers=auth)
    assert r.status_code == 200, r.text
    model = r.json()
    assert model["name"] == "my style" and model["status"] == "Syncing"
    project = (await client.get(f"{BASE}/projects/{model['project_id']}", headers=auth)).json()
    assert project["project_name"] == "my style" and project["ip_type"] == "other"
    with session_scope(runtime.sessions) as s:
        row = s.get(TailoredModel, model["id"])
        assert row is not None and row.job_id is not None

    runtime.settings.allow_private_urls = False
    r = await client.post(f"{BASE}/models/upload_model", json=body, headers=auth)
    assert r.status_code == 422 and "model_url" in r.text
