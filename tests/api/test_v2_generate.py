"""/v2/image/generate/tailored and /v2/image/generate on the tiny model, through a real worker."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from tailor.bootstrap import Runtime
from tailor.config import Settings
from tests.conftest import make_settings
from tests.engine.api_helpers import (
    SP,
    adapter_bytes,
    add_model,
    fetch_image,
    tiny_dir_for,
    wait_done,
)


@pytest.fixture
def settings(tmp_path: Path, db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    tiny = tiny_dir_for(tmp_path_factory.getbasetemp())
    return make_settings(
        tmp_path / "home",
        db_url,
        base_model=str(tiny),
        device="cpu",
        max_steps=3,
        adapter_cache_size=2,
        allow_private_urls=True,
    )


@pytest.fixture
def model_a(runtime: Runtime, token: str, settings: Settings) -> int:
    return add_model(runtime, token, adapter_bytes(Path(settings.base_model), 1))


@pytest.fixture
def model_b(runtime: Runtime, token: str, settings: Settings) -> int:
    return add_model(runtime, token, adapter_bytes(Path(settings.base_model), 2))


class _Hook(BaseHTTPRequestHandler):
    received: list[dict[str, Any]]
    arrived: threading.Event

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append({"body": json.loads(body), "headers": dict(self.headers)})
        self.send_response(200)
        self.end_headers()
        type(self).arrived.set()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def webhook_server() -> Iterator[tuple[str, type[_Hook]]]:
    hook = type("Hook", (_Hook,), {"received": [], "arrived": threading.Event()})
    server = ThreadingHTTPServer(("127.0.0.1", 0), hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", hook
    server.shutdown()


def tailored(model_id: int, **kw: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"tailored_model_id": str(model_id), "structured_prompt": SP, "seed": 11}
    body.update(kw)
    return body


async def test_sync_async_and_webhook_give_the_same_image(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    model_a: int,
    worker: object,
    webhook_server: tuple[str, type[_Hook]],
) -> None:
    r = await client.post("/v2/image/generate/tailored", json=tailored(model_a, sync=True), headers=auth)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["result"]["seed"] == 11
    assert json.loads(body["result"]["structured_prompt"]) == json.loads(SP)
    assert body["image_url"] == body["result"]["image_url"]
    sync_png = await fetch_image(client, body["result"]["image_url"])
    image = Image.open(io.BytesIO(sync_png))
    assert image.format == "PNG" and image.size == (128, 128)

    r = await client.post("/v2/image/generate/tailored", json=tailored(model_a), headers=auth)
    assert r.status_code == 202
    assert r.json()["status_url"].endswith(f"/v2/status/{r.json()['request_id']}")
    done = await wait_done(client, auth, r.json()["request_id"])
    assert done["status"] == "COMPLETED"
    assert await fetch_image(client, done["result"]["image_url"]) == sync_png

    url, hook = webhook_server
    r = await client.post(
        "/v2/image/generate/tailored", json=tailored(model_a, webhook_url=url), headers=auth
    )
    assert r.status_code == 202
    assert hook.arrived.wait(60)
    delivered = hook.received[0]["body"]
    assert delivered["status"] == "COMPLETED" and delivered["request_id"] == r.json()["request_id"]
    assert await fetch_image(client, delivered["result"]["image_url"]) == sync_png


async def test_influence_and_adapter_switching_through_the_api(
    client: httpx.AsyncClient, auth: dict[str, str], model_a: int, model_b: int, worker: object
) -> None:
    async def png(model: int, **kw: Any) -> bytes:
        r = await client.post(
            "/v2/image/generate/tailored", json=tailored(model, sync=True, **kw), headers=auth
        )
        assert r.status_code == 200, r.text
        return await fetch_image(client, r.json()["result"]["image_url"])

    r = await client.post(
        "/v2/image/generate", json={"structured_prompt": SP, "seed": 11, "sync": True}, headers=auth
    )
    assert r.status_code == 200, r.text
    base = await fetch_image(client, r.json()["result"]["image_url"])
    assert await png(model_a, tailored_model_influence=0) == base
    a = await png(model_a)
    assert a != base
    b = await png(model_b)
    assert b not in (a, base)
    assert await png(model_a) == a


async def test_prompt_only_refine_and_recreate(
    client: httpx.AsyncClient, auth: dict[str, str], model_a: int, worker: object
) -> None:
    r = await client.post(
        "/v2/image/generate/tailored",
        json={"tailored_model_id": str(model_a), "prompt": "a blue boat on the sea", "sync": True},
        headers=auth,
    )
    assert r.status_code == 200, r.text
    first = r.json()["result"]
    assert first["prompt"] == "a blue boat on the sea"
    assert isinstance(first["seed"], int)
    made = json.loads(first["structured_prompt"])
    assert "boat" in made["short_description"].lower()
    image = await fetch_image(client, first["image_url"])
    # every parameter that made it comes back, defaults included
    params = first["parameters"]
    assert params["aspect_ratio"] == "1:1" and params["tailored_model_id"] == str(model_a)
    assert params["tailored_model_influence"] == 1.0 and params["guidance_scale"] == 5.0
    assert params["steps_num"] == 50 and params["model_version"] == "final" and params["steps_run"] >= 1

    # recreate: the returned structured prompt and seed give the same bytes
    r = await client.post(
        "/v2/image/generate/tailored",
        json=tailored(model_a, structured_prompt=first["structured_prompt"], seed=first["seed"], sync=True),
        headers=auth,
    )
    assert r.status_code == 200, r.text
    assert await fetch_image(client, r.json()["result"]["image_url"]) == image

    # refine: both fields
    r = await client.post(
        "/v2/image/generate/tailored",
        json=tailored(
            model_a, structured_prompt=first["structured_prompt"], prompt="make it night", sync=True
        ),
        headers=auth,
    )
    assert r.status_code == 200, r.text
    refined = r.json()["result"]
    assert refined["prompt"] == "make it night"
    json.loads(refined["structured_prompt"])


async def test_base_model_generate_with_jpeg_and_aspect_ratio(
    client: httpx.AsyncClient, auth: dict[str, str], worker: object
) -> None:
    r = await client.post(
        "/v2/image/generate",
        json={"prompt": "a green apple", "aspect_ratio": "9:16", "output_type": "jpeg", "sync": True},
        headers=auth,
    )
    assert r.status_code == 200, r.text
    data = await fetch_image(client, r.json()["result"]["image_url"])
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG" and image.size == (96, 176)


async def test_model_made_unservable_after_submit_fails_the_request(
    client: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime, model_a: int
) -> None:
    from tailor.store.db import session_scope
    from tailor.store.tables import TailoredModel
    from tailor.worker.run import run_pending

    r = await client.post("/v2/image/generate/tailored", json=tailored(model_a), headers=auth)
    assert r.status_code == 202
    with session_scope(runtime.sessions) as s:
        s.get(TailoredModel, model_a).status = "Stopped"  # type: ignore[union-attr]
    run_pending(runtime.queue, runtime.job_context())
    done = await wait_done(client, auth, r.json()["request_id"])
    assert done["status"] == "ERROR"
    assert done["error"]["code"] == 412


async def test_base_model_generate_from_a_reference_image(
    client: httpx.AsyncClient, auth: dict[str, str], worker: object
) -> None:
    import base64

    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 30, 30)).save(buf, format="PNG")
    ref = base64.b64encode(buf.getvalue()).decode()
    r = await client.post(
        "/v2/image/generate",
        json={"images": [ref], "prompt": "a poster like this", "seed": 5, "sync": True},
        headers=auth,
    )
    assert r.status_code == 200, r.text
    result = r.json()["result"]
    assert result["seed"] == 5
    json.loads(result["structured_prompt"])
    await fetch_image(client, result["image_url"])

    r = await client.post(
        "/v2/image/generate",
        json={"images": ["not base64 at all!"], "sync": True},
        headers=auth,
    )
    assert r.status_code == 400, r.text
    assert "images.0" in r.json()["error"]["message"]
