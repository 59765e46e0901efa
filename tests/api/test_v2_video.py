"""/v2/video/generate/tailored/image-to-video on the tiny Wan model, through a real worker: the
contract (202, status, signed video_url), the clip, determinism, every error code, cancel."""

from __future__ import annotations

import asyncio
import io
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from bria_client import BriaSyncClient
from PIL import Image

from tailor.bootstrap import Runtime
from tailor.bridge.motion import MOTIONS
from tailor.config import Settings
from tailor.engine.video.mp4 import probe_mp4
from tests.conftest import make_settings, new_token
from tests.engine.api_helpers import add_model, wait_done
from tests.engine.video_helpers import b64, picture, tiny_video_dir_for

URL = "/v2/video/generate/tailored/image-to-video"
SCHEMA = json.dumps(
    {
        "style_medium": "flat vector illustration",
        "artistic_style": "minimalist flat",
        "objects": [{"description": "Lucy, a round orange robot", "shape_and_color": "round, orange"}],
    }
)


@pytest.fixture
def settings(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    # The database does not matter here (the request path is the v2 one every endpoint shares).
    tiny = tiny_video_dir_for(tmp_path_factory.getbasetemp())
    return make_settings(
        tmp_path / "home", f"sqlite:///{tmp_path / 'tailor.db'}", video_model=str(tiny), device="cpu"
    )


@pytest.fixture
def model(runtime: Runtime, token: str) -> int:
    return add_model(runtime, token, None, visual_schema=SCHEMA)


def body(model_id: int | str, image: bytes | str | None = None, **kw: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "tailored_model_id": str(model_id),
        "image": image if isinstance(image, str) else b64(image or picture()),
    }
    out.update(kw)
    return out


async def submit_and_wait(
    client: httpx.AsyncClient, auth: dict[str, str], payload: dict[str, Any]
) -> dict[str, Any]:
    r = await client.post(URL, json=payload, headers=auth)
    assert r.status_code == 202, r.text
    assert set(r.json()) == {"request_id", "status_url"}
    assert r.json()["status_url"].endswith(f"/v2/status/{r.json()['request_id']}")
    return await wait_done(client, auth, r.json()["request_id"])


async def clip_of(client: httpx.AsyncClient, done: dict[str, Any]) -> bytes:
    assert done["status"] == "COMPLETED", done
    url = done["result"]["video_url"]
    assert "sig=" in url and "exp=" in url  # a signed link: fetched without the token
    r = await client.get(url)
    assert r.status_code == 200 and r.headers["content-type"] == "video/mp4"
    return r.content


async def test_a_tailored_image_becomes_a_five_second_mp4(
    client: httpx.AsyncClient, auth: dict[str, str], model: int, worker: object
) -> None:
    done = await submit_and_wait(client, auth, body(model, picture(96, 64), seed=7))
    result = done["result"]
    mp4 = await clip_of(client, done)
    info = probe_mp4(mp4)
    assert info.codec == "h264"
    assert (info.width, info.height) == (result["width"], result["height"]) == (64, 32)  # landscape
    assert info.frames == result["frames"] == 5
    assert abs(info.duration_s - 5.0) <= 0.25 and result["duration_s"] == 5.0
    assert result["seed"] == 7 and result["fps"] == 1
    # Tailoring: the image described in the model's visual schema, kept with the result ...
    described = json.loads(result["structured_prompt"])
    assert described["style_medium"] == "flat vector illustration"
    assert described["objects"][0]["description"] == "Lucy, a round orange robot"
    # ... and a motion prompt that restates that look (the project is a stylized scene).
    assert "flat vector illustration" in result["prompt"]
    assert any(m[0].upper() + m[1:] in result["prompt"] for m in MOTIONS["stylized_scene"])

    again = await submit_and_wait(client, auth, body(model, picture(96, 64), seed=7))
    assert await clip_of(client, again) == mp4  # same image, model and seed: same bytes
    other = await submit_and_wait(client, auth, body(model, picture(96, 64), seed=8))
    assert await clip_of(client, other) != mp4


async def test_sync_answers_with_the_video_url(
    client: httpx.AsyncClient, auth: dict[str, str], model: int, worker: object
) -> None:
    portrait = picture(48, 96, fmt="JPEG")
    r = await client.post(URL, json=body(model, portrait, seed=1, sync=True), headers=auth)
    assert r.status_code == 200, r.text
    assert r.json()["video_url"] == r.json()["result"]["video_url"]
    assert (r.json()["result"]["width"], r.json()["result"]["height"]) == (32, 64)


def _corrupt_png() -> bytes:
    data = picture(64, 64)
    return data[: len(data) // 2]  # a PNG header, then the data stops


@pytest.mark.parametrize(
    ("image", "status", "words"),
    [
        (b64(b"%PDF-1.4 this is not an image at all"), 415, "not a jpg, png or webp"),
        (b64(picture(64, 64, fmt="GIF")), 415, "not a jpg, png or webp"),
        (b64(_corrupt_png()), 422, "corrupt"),
        ("this is neither a URL nor base64!", 422, "base64"),
        (b64(picture(200, 200)), 413, "pixels"),  # the test's pixel limit is below 200x200
        ("   ", 400, "empty"),
        ("ftp://example.com/a.png", 422, "base64"),
    ],
)
async def test_bad_images_are_refused_with_the_error_shape(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    model: int,
    runtime: Runtime,
    image: str,
    status: int,
    words: str,
) -> None:
    runtime.settings.max_image_pixels = 150 * 150
    r = await client.post(URL, json=body(model, image), headers=auth)
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["code"] == status and words in err["message"] and "image" in err["message"]
    assert set(r.json()) == {"error", "request_id"}
    assert list(runtime.blobs.list("requests/")) == []  # nothing kept of a refused request


async def test_models_that_cannot_animate(
    client: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime, token: str
) -> None:
    r = await client.post(URL, json=body(999999), headers=auth)
    assert r.status_code == 404 and "tailored_model_id" in r.json()["error"]["message"]
    foreign = add_model(runtime, new_token(runtime, "other-org"), None)
    r = await client.post(URL, json=body(foreign), headers=auth)
    assert r.status_code == 404  # another organization's model does not exist for this one
    training = add_model(runtime, token, None, status="InProgress")
    r = await client.post(URL, json=body(training), headers=auth)
    assert r.status_code == 412 and "Completed" in r.json()["error"]["message"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"image": "x"}, "tailored_model_id"),
        ({"tailored_model_id": "1"}, "image"),
        ({"tailored_model_id": "abc", "image": "x"}, "tailored_model_id"),
        ({"tailored_model_id": "1", "image": "x", "seed": -1}, "seed"),
        ({"tailored_model_id": "1", "image": 5}, "image"),
        ({"tailored_model_id": "1", "image": "x", "webhook_url": "file:///etc/passwd"}, "webhook_url"),
    ],
)
async def test_bad_bodies_are_400_naming_the_field(
    client: httpx.AsyncClient, auth: dict[str, str], model: int, payload: dict[str, Any], field: str
) -> None:
    if payload.get("tailored_model_id") == "1":
        payload = {**payload, "tailored_model_id": str(model)}
        if payload.get("image") == "x":
            payload["image"] = b64(picture())
    r = await client.post(URL, json=payload, headers=auth)
    assert r.status_code == 400, r.text
    assert field in r.json()["error"]["message"]


async def test_cancel_stops_a_clip_mid_run(
    client: httpx.AsyncClient, auth: dict[str, str], model: int, runtime: Runtime, token: str, worker: object
) -> None:
    runtime.settings.video_steps = 500  # long enough to be caught running
    r = await client.post(URL, json=body(model, seed=2), headers=auth)
    request_id = r.json()["request_id"]
    deadline = time.monotonic() + 60
    while True:
        status = (await client.get(f"/v2/status/{request_id}", headers=auth)).json()
        progress = status.get("progress") or {}
        if progress.get("stage") == "generating" and progress.get("step", 0) >= 1:
            break
        assert status["status"] == "IN_PROGRESS" and time.monotonic() < deadline, status
        await asyncio.sleep(0.05)
    assert progress["total_steps"] == 500
    started = time.monotonic()
    r = await client.post(f"/v2/status/{request_id}/cancel", headers=auth)
    assert r.status_code == 200 and r.json()["status"] in ("IN_PROGRESS", "ERROR")
    done = await wait_done(client, auth, request_id)
    assert done["status"] == "ERROR" and done["error"]["code"] == 409
    assert time.monotonic() - started < 20  # stopped between steps, not after 500 of them
    assert list(runtime.blobs.list("generated/")) == []
    again = await client.post(f"/v2/status/{request_id}/cancel", headers=auth)
    assert again.json()["error"]["code"] == 409  # a finished request is left as it is
    other = {"api_token": new_token(runtime, "other-org")}
    assert (await client.post(f"/v2/status/{request_id}/cancel", headers=other)).status_code == 404


@pytest.fixture
def bria(token: str, live_server: str) -> Iterator[BriaSyncClient]:
    with BriaSyncClient(base_url=live_server, api_token=token) as c:
        yield c


def test_bria_client_runs_the_endpoint(bria: BriaSyncClient, model: int) -> None:
    res = bria.run(
        "video/generate/tailored/image-to-video",
        {"tailored_model_id": str(model), "image": b64(picture()), "seed": 42},
    )
    assert res.status == "COMPLETED", res
    video = httpx.get(res.result.video_url, timeout=30)
    assert video.status_code == 200 and probe_mp4(video.content).frames == 5
    assert Image.open(io.BytesIO(picture())).size == (96, 64)


class _Files(BaseHTTPRequestHandler):
    pages: dict[str, bytes] = {}

    def do_GET(self) -> None:  # noqa: N802
        data = type(self).pages.get(self.path)
        self.send_response(200 if data is not None else 404)
        self.send_header("Content-Length", str(len(data or b"")))
        self.end_headers()
        self.wfile.write(data or b"")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def image_host() -> Iterator[tuple[str, type[_Files]]]:
    handler = type("Files", (_Files,), {"pages": {}})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()


async def test_image_urls_are_fetched_by_the_worker_and_checked_there(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    model: int,
    runtime: Runtime,
    worker: object,
    image_host: tuple[str, type[_Files]],
) -> None:
    r = await client.post(URL, json=body(model, "http://127.0.0.1:9/a.png"), headers=auth)
    assert r.status_code == 400 and "image" in r.json()["error"]["message"]  # private address
    runtime.settings.allow_private_urls = True
    base, files = image_host
    files.pages.update({"/ok.png": picture(64, 64), "/note.txt": b"just some text, not an image"})
    done = await submit_and_wait(client, auth, body(model, f"{base}/ok.png", seed=3))
    assert probe_mp4(await clip_of(client, done)).frames == 5
    done = await submit_and_wait(client, auth, body(model, f"{base}/note.txt"))
    assert done["status"] == "ERROR" and done["error"]["code"] == 415, done
    assert "not a jpg, png or webp" in done["error"]["message"]
