"""``/v1/tailored-gen/generate_visual_schema``, ``refine_structured_prompt`` and ``generate_prefix``."""

from __future__ import annotations

import json

import httpx

from tailor.api.app import create_app
from tailor.bootstrap import Runtime, build_runtime
from tailor.bridge.prompts import validate_structured_prompt
from tailor.config import Settings
from tailor.store.db import session_scope
from tailor.store.orgs import get_or_create_org
from tests.bridge.images import b64, make_image, sample_set
from tests.bridge.records import make_dataset
from tests.conftest import new_token

BASE = "/v1/tailored-gen"


def _org(rt: Runtime, name: str = "acme") -> int:
    with session_scope(rt.sessions) as s:
        return get_or_create_org(s, name).id


async def test_visual_schema_from_base64_images(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    images = [b64(i) for i in sample_set(5)]
    images[0] = "data:image/png;base64," + images[0]
    r = await client.post(f"{BASE}/generate_visual_schema", json={"images": images}, headers=auth)
    assert r.status_code == 200, r.text
    schema = r.json()["visual_schema"]
    assert validate_structured_prompt(schema, field="visual_schema", schema=True) == schema
    assert "short_description" not in json.loads(schema)


async def test_visual_schema_needs_5_to_10_images(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    for n in (4, 11):
        r = await client.post(
            f"{BASE}/generate_visual_schema", json={"images": [b64(i) for i in sample_set(n)]}, headers=auth
        )
        assert r.status_code == 400
        assert "images" in r.json()["error"]["message"]


async def test_bad_entries_are_named(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    good = [b64(i) for i in sample_set(4)]
    r = await client.post(
        f"{BASE}/generate_visual_schema", json={"images": [*good, "%%%not-base64"]}, headers=auth
    )
    assert r.status_code == 400 and "images" in r.json()["error"]["message"]
    r = await client.post(
        f"{BASE}/generate_visual_schema", json={"images": [*good, b64(b"plain text, no image")]}, headers=auth
    )
    assert r.status_code == 415
    gif = make_image((1, 2, 3), fmt="GIF")
    r = await client.post(f"{BASE}/generate_visual_schema", json={"images": [*good, b64(gif)]}, headers=auth)
    assert r.status_code == 415 and "png" in r.json()["error"]["message"]


async def test_private_urls_are_refused(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    good = [b64(i) for i in sample_set(4)]
    r = await client.post(
        f"{BASE}/generate_visual_schema", json={"images": [*good, "http://127.0.0.1:9/x.png"]}, headers=auth
    )
    assert r.status_code == 400
    assert "images" in r.json()["error"]["message"]


async def test_auth_is_required(client: httpx.AsyncClient) -> None:
    r = await client.post(f"{BASE}/generate_visual_schema", json={"images": []})
    assert r.status_code == 401


async def test_refine_schema_on_a_draft_dataset(
    client: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime
) -> None:
    ds = make_dataset(runtime, _org(runtime))
    schema = json.dumps({"style_medium": "flat illustration", "objects": [{"description": "a small fox"}]})
    body = {"dataset_id": ds, "structured_prompt": schema, "instruction": "the character's name is Lucy"}
    r = await client.post(f"{BASE}/refine_structured_prompt", json=body, headers=auth)
    assert r.status_code == 200, r.text
    out = json.loads(r.json()["structured_prompt"])
    assert out == {"objects": [{"description": "Lucy, a small fox"}], "style_medium": "flat illustration"}


async def test_refine_caption_with_context_images(
    client: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime
) -> None:
    ds = make_dataset(runtime, _org(runtime))
    from tailor.bridge.service import build_bridge

    caption = build_bridge(runtime.settings).caption(sample_set(1)[0])
    body = {
        "dataset_id": ds,
        "structured_prompt": caption,
        "instruction": "set the mood to joyful",
        "context_images": [b64(sample_set(1)[0])],
    }
    r = await client.post(f"{BASE}/refine_structured_prompt", json=body, headers=auth)
    assert r.status_code == 200, r.text
    out = r.json()["structured_prompt"]
    assert json.loads(out)["aesthetics"]["mood_atmosphere"] == "joyful"
    assert out.replace('"joyful"', "X") == caption.replace(
        json.dumps(json.loads(caption)["aesthetics"]["mood_atmosphere"]), "X"
    )


async def test_refine_rules(client: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime) -> None:
    schema = json.dumps({"style_medium": "flat illustration"})
    done = make_dataset(runtime, _org(runtime), status="completed")
    r = await client.post(
        f"{BASE}/refine_structured_prompt",
        json={"dataset_id": done, "structured_prompt": schema, "instruction": "x"},
        headers=auth,
    )
    assert r.status_code == 409
    other = make_dataset(runtime, _org(runtime, "other-org"))
    r = await client.post(
        f"{BASE}/refine_structured_prompt",
        json={"dataset_id": other, "structured_prompt": schema, "instruction": "x"},
        headers=auth,
    )
    assert r.status_code == 404
    mine = make_dataset(runtime, _org(runtime))
    r = await client.post(
        f"{BASE}/refine_structured_prompt",
        json={"dataset_id": mine, "structured_prompt": "{oops", "instruction": "x"},
        headers=auth,
    )
    assert r.status_code == 400 and "structured_prompt" in r.json()["error"]["message"]
    r = await client.post(
        f"{BASE}/refine_structured_prompt",
        json={"dataset_id": mine, "structured_prompt": schema},
        headers=auth,
    )
    assert r.status_code == 400 and "instruction" in r.json()["error"]["message"]


async def test_prefix(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    r = await client.post(
        f"{BASE}/generate_prefix",
        json={"images": [b64(i) for i in sample_set(2)], "ip_type": "defined_character"},
        headers=auth,
    )
    assert r.status_code == 200, r.text
    assert r.json()["prefix"].startswith("A ")
    r = await client.post(
        f"{BASE}/generate_prefix", json={"images": [b64(i) for i in sample_set(7)]}, headers=auth
    )
    assert r.status_code == 400
    r = await client.post(f"{BASE}/generate_prefix", json={}, headers=auth)
    assert r.status_code == 400


async def test_other_orgs_token_sees_its_own_datasets_only(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    ds = make_dataset(runtime, _org(runtime, "acme"))
    token = new_token(runtime, "rival")
    body = {"dataset_id": ds, "structured_prompt": json.dumps({"style_medium": "x"}), "instruction": "y"}
    r = await client.post(f"{BASE}/refine_structured_prompt", json=body, headers={"api_token": token})
    assert r.status_code == 404


async def test_image_urls_are_fetched_when_private_urls_are_allowed(settings: Settings) -> None:
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    images = sample_set(5)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            index = int(self.path.strip("/").split(".")[0])
            if index >= len(images):
                self.send_error(404)
                return
            data = images[index]
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    rt = build_runtime(settings.model_copy(update={"allow_private_urls": True}), migrate=True)
    try:
        app = create_app(rt.settings, rt)
        auth = {"api_token": new_token(rt, "acme")}
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            urls = [f"{base}/{i}.png" for i in range(5)]
            r = await c.post(f"{BASE}/generate_visual_schema", json={"images": urls}, headers=auth)
            assert r.status_code == 200, r.text
            from_b64 = await c.post(
                f"{BASE}/generate_visual_schema", json={"images": [b64(i) for i in images]}, headers=auth
            )
            assert r.json() == from_b64.json()
            r = await c.post(f"{BASE}/generate_prefix", json={"image_urls": [f"{base}/9.png"]}, headers=auth)
            assert r.status_code == 400
            assert "image_urls" in r.json()["error"]["message"] and "404" in r.json()["error"]["message"]
    finally:
        server.shutdown()
        rt.close()
