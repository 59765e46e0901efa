"""/v1/tailored-gen/datasets/{id}/images through real HTTP: upload forms, image rules, hostile input,
captions, org scoping. Every refused upload must leave no record and no blob behind."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import httpx
import pytest
from PIL import Image
from sqlalchemy import select

from tailor.api.app import create_app
from tailor.bootstrap import Runtime, build_runtime
from tailor.store.db import session_scope
from tailor.store.tables import Job
from tests.conftest import make_settings, new_token
from tests.services.factory import image_bytes, png_header_only, serve
from tests.services.v1_support import API, CAPTION, SCHEMA, blob_keys, error_of, make_dataset, upload


async def _fetch(client: httpx.AsyncClient, url: str) -> Image.Image:
    r = await client.get(url.removeprefix("http://tailor.test"))
    assert r.status_code == 200
    return Image.open(io.BytesIO(r.content))


async def _images(client: httpx.AsyncClient, auth: dict[str, str], dataset_id: int) -> list[dict]:
    r = await client.get(f"{API}/datasets/{dataset_id}/images", headers=auth)
    assert r.status_code == 200
    return r.json()  # type: ignore[no-any-return]


async def test_multipart_upload(client: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime) -> None:
    d = await make_dataset(client, auth)
    data = image_bytes()
    r = await upload(client, auth, d["id"], data, name="dir/pose 1.jpg")
    assert r.status_code == 201, r.text
    img = r.json()
    assert img["dataset_id"] == d["id"] and img["image_name"] == "pose 1.jpg"
    assert img["caption"] is None and img["caption_source"] is None and img["upload_source_url"] is None
    assert (img["width"], img["height"]) == (1024, 1024)
    # an image that already meets every rule is stored byte for byte
    r = await client.get(img["image_url"].removeprefix("http://tailor.test"))
    assert r.content == data
    thumb = await _fetch(client, img["thumbnail_url"])
    assert thumb.format == "JPEG" and max(thumb.size) == runtime.settings.thumbnail_side
    assert (await client.get(f"{API}/datasets/{d['id']}/images/{img['id']}", headers=auth)).json() == img
    assert await _images(client, auth, d["id"]) == [img]


async def test_json_base64_upload(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    d = await make_dataset(client, auth)
    data = image_bytes(fmt="WEBP")
    body = {"file": base64.b64encode(data).decode(), "image_name": "a.webp", "content_moderation": True}
    r = await client.post(f"{API}/datasets/{d['id']}/images", json=body, headers=auth)
    assert r.status_code == 201, r.text
    assert r.json()["image_name"] == "a.webp"
    body = {"file": "data:image/png;base64," + base64.b64encode(image_bytes(fmt="PNG")).decode()}
    r = await client.post(f"{API}/datasets/{d['id']}/images", json=body, headers=auth)
    assert r.status_code == 201 and r.json()["image_name"].endswith(".png")
    r = await client.post(f"{API}/datasets/{d['id']}/images", json={"file": "%%%not base64"}, headers=auth)
    assert r.status_code == 400 and "file" in error_of(r)
    r = await client.post(f"{API}/datasets/{d['id']}/images", json={}, headers=auth)
    assert r.status_code == 400 and "image_url" in error_of(r)
    r = await client.post(
        f"{API}/datasets/{d['id']}/images", json={"image_url": "http://x/a.jpg", "file": "AAAA"}, headers=auth
    )
    assert r.status_code == 400


async def test_upscale_and_size_rules(
    client: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime
) -> None:
    d = await make_dataset(client, auth)
    r = await upload(client, auth, d["id"], image_bytes((300, 400), fmt="PNG"), name="small.png")
    assert r.status_code == 201, r.text
    img = r.json()
    assert (img["width"], img["height"]) == (1024, 1365)
    stored = await _fetch(client, img["image_url"])
    assert stored.size == (1024, 1365) and stored.format == "PNG"
    keys = blob_keys(runtime)
    r = await upload(client, auth, d["id"], image_bytes((300, 400)), increase_resolution="false")
    assert r.status_code == 412 and "1024x1024" in error_of(r)
    r = await upload(client, auth, d["id"], image_bytes((255, 2000)))
    assert r.status_code == 412 and "256" in error_of(r)
    r = await upload(client, auth, d["id"], image_bytes((300, 400)), increase_resolution="maybe")
    assert r.status_code == 400 and "increase_resolution" in error_of(r)
    assert blob_keys(runtime) == keys
    assert len(await _images(client, auth, d["id"])) == 1


async def test_exif_orientation_and_transparency(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    d = await make_dataset(client, auth)
    r = await upload(client, auth, d["id"], image_bytes((1024, 1536), exif_orientation=6))
    assert r.status_code == 201
    assert (r.json()["width"], r.json()["height"]) == (1536, 1024)
    assert (await _fetch(client, r.json()["image_url"])).size == (1536, 1024)
    clear = image_bytes((1024, 1024), fmt="PNG", mode="RGBA", color=(255, 255, 255, 0))
    r = await upload(client, auth, d["id"], clear, name="clear.png")
    assert r.status_code == 201
    stored = await _fetch(client, r.json()["image_url"])
    assert stored.mode == "RGB" and stored.getpixel((1000, 1000)) == (0, 0, 0)  # composited on black
    assert stored.getpixel((300, 300)) == (20, 220, 20)  # the opaque shape is kept


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (b"just some text, named .jpg", 415),
        (b"", 400),
        (image_bytes(fmt="GIF", mode="L"), 415),
        (image_bytes(fmt="BMP"), 415),
        (image_bytes()[:5000], 400),  # truncated JPEG
        (image_bytes(fmt="PNG")[:-200], 400),  # truncated PNG
        (png_header_only(40000, 40000), 413),  # header claims 1.6 G pixels
        (png_header_only(9000, 9000), 413),  # over max_image_pixels
    ],
)
async def test_hostile_images(
    client: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime, data: bytes, status: int
) -> None:
    d = await make_dataset(client, auth)
    r = await upload(client, auth, d["id"], data, name="photo.jpg")
    assert r.status_code == status, r.text
    assert "file" in error_of(r)
    assert await _images(client, auth, d["id"]) == []
    assert blob_keys(runtime) == set()


async def test_basic_cap_and_upload_type(tmp_path: Path, db_url: str) -> None:
    settings = make_settings(tmp_path / "home", db_url, basic_dataset_max_images=2)
    rt = build_runtime(settings, migrate=True)
    try:
        auth = {"api_token": new_token(rt, "acme")}
        transport = httpx.ASGITransport(app=create_app(settings, rt))
        async with httpx.AsyncClient(transport=transport, base_url="http://tailor.test") as client:
            d = await make_dataset(client, auth)
            for _ in range(2):
                assert (await upload(client, auth, d["id"], image_bytes())).status_code == 201
            keys = blob_keys(rt)
            r = await upload(client, auth, d["id"], image_bytes())
            assert r.status_code == 409 and "at most 2" in error_of(r)
            adv = await make_dataset(client, auth, upload_type="advanced", project_id=d["project_id"])
            r = await upload(client, auth, adv["id"], image_bytes())
            assert r.status_code == 409 and "bulk-upload" in error_of(r)
            assert blob_keys(rt) == keys
    finally:
        rt.close()


async def test_size_limits(tmp_path: Path, db_url: str) -> None:
    settings = make_settings(tmp_path / "home", db_url, max_request_bytes=200_000, max_image_bytes=100_000)
    rt = build_runtime(settings, migrate=True)
    try:
        auth = {"api_token": new_token(rt, "acme")}
        transport = httpx.ASGITransport(app=create_app(settings, rt))
        async with httpx.AsyncClient(transport=transport, base_url="http://tailor.test") as client:
            d = await make_dataset(client, auth)
            r = await upload(client, auth, d["id"], b"\xff" * 300_000)  # body over max_request_bytes
            assert r.status_code == 413 and error_of(r)
            r = await upload(client, auth, d["id"], b"\xff" * 150_000)  # file over max_image_bytes
            assert r.status_code == 413 and "file" in error_of(r)
            body = {"file": base64.b64encode(b"\xff" * 120_000).decode()}
            r = await client.post(f"{API}/datasets/{d['id']}/images", json=body, headers=auth)
            assert r.status_code == 413
            assert blob_keys(rt) == set()
    finally:
        rt.close()


async def test_image_url_refused_for_private_addresses(
    client: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime
) -> None:
    d = await make_dataset(client, auth)
    with serve({"/a.jpg": (200, {"Content-Type": "image/jpeg"}, image_bytes())}) as base:
        for url in (
            f"{base}/a.jpg",
            "http://localhost:1/a.jpg",
            "http://169.254.169.254/latest",
            "http://[::1]/x",
        ):
            r = await client.post(f"{API}/datasets/{d['id']}/images", json={"image_url": url}, headers=auth)
            assert r.status_code == 400, (url, r.text)
            assert "image_url" in error_of(r) and "non-public" in error_of(r)
        r = await client.post(
            f"{API}/datasets/{d['id']}/images", json={"image_url": "file:///etc/passwd"}, headers=auth
        )
        assert r.status_code == 400 and "http" in error_of(r)
    assert await _images(client, auth, d["id"]) == [] and blob_keys(runtime) == set()


async def test_image_url_fetch(tmp_path: Path, db_url: str) -> None:
    settings = make_settings(tmp_path / "home", db_url, allow_private_urls=True, url_fetch_timeout_s=5)
    rt = build_runtime(settings, migrate=True)
    try:
        auth = {"api_token": new_token(rt, "acme")}
        transport = httpx.ASGITransport(app=create_app(settings, rt))
        routes = {
            "/img/a.png": (200, {"Content-Type": "image/png"}, image_bytes(fmt="PNG")),
            "/moved": (302, {"Location": "/img/a.png"}, b""),
            "/gone": (404, {}, b"no"),
            "/text.jpg": (200, {}, b"<html>not an image</html>"),
        }
        async with httpx.AsyncClient(transport=transport, base_url="http://tailor.test") as client:
            d = await make_dataset(client, auth)
            with serve(routes) as base:
                r = await client.post(
                    f"{API}/datasets/{d['id']}/images", json={"image_url": f"{base}/img/a.png"}, headers=auth
                )
                assert r.status_code == 201, r.text
                assert (
                    r.json()["upload_source_url"] == f"{base}/img/a.png" and r.json()["image_name"] == "a.png"
                )
                r = await client.post(
                    f"{API}/datasets/{d['id']}/images",
                    files={"image_url": (None, f"{base}/moved")},
                    data={"image_name": "moved.png"},
                    headers=auth,
                )
                assert r.status_code == 201, r.text
                assert r.json()["image_name"] == "moved.png"
                r = await client.post(
                    f"{API}/datasets/{d['id']}/images", json={"image_url": f"{base}/gone"}, headers=auth
                )
                assert r.status_code == 400 and "404" in error_of(r)
                r = await client.post(
                    f"{API}/datasets/{d['id']}/images", json={"image_url": f"{base}/text.jpg"}, headers=auth
                )
                assert r.status_code == 415 and "image_url" in error_of(r)
            assert len(await _images(client, auth, d["id"])) == 2
            assert len(blob_keys(rt)) == 4
    finally:
        rt.close()


async def test_caption_edits(client: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime) -> None:
    d = await make_dataset(client, auth)
    img = (await upload(client, auth, d["id"], image_bytes())).json()
    url = f"{API}/datasets/{d['id']}/images/{img['id']}"
    r = await client.put(url, json={"caption": CAPTION}, headers=auth)
    assert r.status_code == 200, r.text
    assert r.json()["caption_source"] == "manual"
    assert r.json()["caption"].startswith('{"short_description": "a green square on red"')
    r = await client.put(url, json={"caption": "a red square"}, headers=auth)
    assert r.status_code == 400 and "caption" in error_of(r) and "JSON" in error_of(r)
    r = await client.put(url, json={"caption": '["a", "list"]'}, headers=auth)
    assert r.status_code == 400 and "caption" in error_of(r) and "object" in error_of(r)
    r = await client.put(url, json={"caption": '{"short_description": "missing the rest"}'}, headers=auth)
    assert r.status_code == 400 and "caption" in error_of(r)
    r = await client.put(url, json={"caption": CAPTION, "regenerate_caption": True}, headers=auth)
    assert r.status_code == 400
    r = await client.put(url, json={}, headers=auth)
    assert r.status_code == 400
    r = await client.put(url, json={"regenerate_caption": True}, headers=auth)
    assert r.status_code == 412 and "visual_schema" in error_of(r)
    assert (await client.get(url, headers=auth)).json()["caption_source"] == "manual"
    await client.put(f"{API}/datasets/{d['id']}", json={"visual_schema": SCHEMA}, headers=auth)
    r = await client.put(url, json={"regenerate_caption": True}, headers=auth)
    assert r.status_code == 200 and r.json()["caption_source"] == "pending"
    with session_scope(runtime.sessions) as s:
        jobs = list(s.scalars(select(Job).where(Job.kind == "caption_image")))
    assert [j.payload for j in jobs] == [{"image_id": img["id"], "dataset_id": d["id"]}]


async def test_upload_with_schema_queues_a_caption(
    client: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime
) -> None:
    d = await make_dataset(client, auth)
    await client.put(f"{API}/datasets/{d['id']}", json={"visual_schema": SCHEMA}, headers=auth)
    img = (await upload(client, auth, d["id"], image_bytes())).json()
    assert img["caption_source"] == "pending"
    with session_scope(runtime.sessions) as s:
        jobs = list(s.scalars(select(Job).where(Job.kind == "caption_image")))
    assert [(j.payload["image_id"], j.priority) for j in jobs] == [(img["id"], 50)]


async def test_delete_image(client: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime) -> None:
    d = await make_dataset(client, auth)
    a = (await upload(client, auth, d["id"], image_bytes())).json()
    b = (await upload(client, auth, d["id"], image_bytes())).json()
    assert len(blob_keys(runtime)) == 4
    assert (
        await client.delete(f"{API}/datasets/{d['id']}/images/{a['id']}", headers=auth)
    ).status_code == 204
    assert [i["id"] for i in await _images(client, auth, d["id"])] == [b["id"]]
    assert len(blob_keys(runtime)) == 2
    assert (
        await client.delete(f"{API}/datasets/{d['id']}/images/{a['id']}", headers=auth)
    ).status_code == 404
    assert (await client.get(f"{API}/datasets/{d['id']}/images/{a['id']}", headers=auth)).status_code == 404


async def test_other_organization_sees_nothing(
    client: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime
) -> None:
    d = await make_dataset(client, auth)
    img = (await upload(client, auth, d["id"], image_bytes())).json()
    other = {"api_token": new_token(runtime, "globex")}
    base = f"{API}/datasets/{d['id']}/images"
    answers = [
        await upload(client, other, d["id"], image_bytes()),
        await client.get(base, headers=other),
        await client.get(f"{base}/{img['id']}", headers=other),
        await client.put(f"{base}/{img['id']}", json={"caption": CAPTION}, headers=other),
        await client.delete(f"{base}/{img['id']}", headers=other),
    ]
    assert [r.status_code for r in answers] == [404] * len(answers)
    # an image id from another dataset is not found either
    d2 = await make_dataset(client, auth)
    assert (
        await client.get(f"{API}/datasets/{d2['id']}/images/{img['id']}", headers=auth)
    ).status_code == 404
    assert len(await _images(client, auth, d["id"])) == 1


async def test_auth_required(client: httpx.AsyncClient) -> None:
    for headers in ({}, {"api_token": "tlr_unknown"}):
        r = await client.post(f"{API}/datasets/1/images", files={"file": ("a.jpg", b"x")}, headers=headers)
        assert r.status_code == 401
        assert (await client.get(f"{API}/datasets/1/images", headers=headers)).status_code == 401


async def test_concurrent_uploads_respect_the_cap(tmp_path: Path, db_url: str) -> None:
    """The cap is checked again under the dataset's lock, so racing uploads cannot overshoot it."""
    import asyncio

    settings = make_settings(tmp_path / "home", db_url, basic_dataset_max_images=3)
    rt = build_runtime(settings, migrate=True)
    try:
        auth = {"api_token": new_token(rt, "acme")}
        transport = httpx.ASGITransport(app=create_app(settings, rt))
        async with httpx.AsyncClient(transport=transport, base_url="http://tailor.test") as client:
            d = await make_dataset(client, auth)
            data = image_bytes()
            answers = await asyncio.gather(*(upload(client, auth, d["id"], data) for _ in range(6)))
            assert sorted(r.status_code for r in answers) == [201, 201, 201, 409, 409, 409]
            assert len(await _images(client, auth, d["id"])) == 3
            assert len(blob_keys(rt)) == 6
    finally:
        rt.close()
