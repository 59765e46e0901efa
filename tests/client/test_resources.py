"""Projects, datasets, images and visual schemas through AsyncTailor against the in-process app."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tailor.client import (
    AsyncTailor,
    BadRequestError,
    ConflictError,
    Dataset,
    NotFoundError,
    Project,
    TailorAPIError,
)
from tests.client.support import needs, png, write_pngs
from tests.services.v1_support import CAPTION, SCHEMA

V1 = "/v1/tailored-gen"
pytestmark = needs("POST", f"{V1}/projects")


@pytest.fixture
def image_server(tmp_path: Path) -> Iterator[str]:
    """A plain static file server on loopback, so image_url uploads have something to fetch."""
    folder = tmp_path / "www"
    write_pngs(folder, 2, start=40)

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


async def _project(sdk: AsyncTailor, name: str = "Mascot") -> Project:
    return await sdk.projects.create(
        name,
        ip_medium="illustration",
        ip_type="defined_character",
        ip_name="Lucy",
        ip_description="a small robot",
    )


async def test_project_lifecycle(sdk: AsyncTailor) -> None:
    p = await _project(sdk)
    assert isinstance(p, Project) and p.id > 0 and p.project_name == "Mascot" and p.ip_name == "Lucy"
    assert [x.id for x in await sdk.projects.list()] == [p.id]
    updated = await sdk.projects.update(p.id, project_description="our mascot")
    assert updated.project_description == "our mascot"
    assert (await sdk.projects.get(p.id)).project_description == "our mascot"
    await sdk.projects.delete(p.id)
    with pytest.raises(NotFoundError) as e:
        await sdk.projects.get(p.id)
    assert e.value.status == 404 and e.value.code == 404 and e.value.request_id


async def test_bad_input_carries_the_api_message(sdk: AsyncTailor) -> None:
    with pytest.raises(BadRequestError) as e:
        await sdk.projects.create("x", ip_medium="photography", ip_type="icons")
    assert e.value.status == 400
    assert "ip_type" in e.value.message or "icons" in e.value.message
    assert e.value.request_id


async def test_unknown_token_is_an_authentication_error(app) -> None:  # type: ignore[no-untyped-def]
    import httpx

    from tailor.client import AuthenticationError

    transport = httpx.ASGITransport(app=app)
    async with AsyncTailor("http://tailor.test", "not-a-token", transport=transport) as t:
        with pytest.raises(AuthenticationError) as e:
            await t.projects.list()
    assert e.value.status == 401 and e.value.message


async def test_datasets_and_uploads_from_path_bytes_and_url(
    sdk: AsyncTailor, tmp_path: Path, image_server: str
) -> None:
    p = await _project(sdk)
    d = await sdk.datasets.create(p.id, "poses")
    assert isinstance(d, Dataset) and d.status == "draft" and d.upload_type == "basic"
    files = write_pngs(tmp_path / "imgs", 3)
    from_path = await sdk.images.upload(d.id, files[0], image_name="first")
    assert from_path.image_name == "first" and from_path.dataset_id == d.id
    from_bytes = await sdk.images.upload(d.id, png(7))
    from_url = await sdk.images.upload(d.id, f"{image_server}/img_40.png")
    assert from_url.upload_source_url == f"{image_server}/img_40.png"
    assert {i.id for i in await sdk.images.list(d.id)} == {from_path.id, from_bytes.id, from_url.id}
    got = await sdk.images.get(d.id, from_bytes.id)
    assert got.image_url and got.thumbnail_url
    image_bytes = await sdk.fetch(got.image_url)
    assert image_bytes[:8] == b"\x89PNG\r\n\x1a\n" or image_bytes[:3] == b"\xff\xd8\xff"
    assert (await sdk.datasets.get(d.id)).images_count == 3
    assert [x.id for x in await sdk.projects.datasets(p.id)] == [d.id]
    assert (from_url.upload_source, from_path.upload_source) == ("url", "upload")
    assert [i.id for i in await sdk.images.list(d.id, limit=1, offset=1)] == [from_bytes.id]
    assert [i.id for i in await sdk.images.list(d.id, search="first", caption_state="missing")] == [
        from_path.id
    ]
    await sdk.images.delete(d.id, from_url.id)
    assert (await sdk.datasets.get(d.id)).images_count == 2
    assert await sdk.images.delete_many(d.id, [from_path.id, from_bytes.id]) == 2
    assert (await sdk.datasets.get(d.id)).images_count == 0


async def test_upload_many_reports_each_file(sdk: AsyncTailor, tmp_path: Path) -> None:
    p = await _project(sdk)
    d = await sdk.datasets.create(p.id, "mixed")
    bad = tmp_path / "notes.png"
    bad.write_bytes(b"not an image at all")
    good = write_pngs(tmp_path / "ok", 2)
    seen: list[tuple[int, int]] = []
    results = await sdk.images.upload_many(
        d.id, [good[0], bad, good[1]], on_progress=lambda done, total, r: seen.append((done, total))
    )
    assert seen == [(1, 3), (2, 3), (3, 3)]
    assert [r.image is not None for r in results] == [True, False, True]
    assert isinstance(results[1].error, TailorAPIError) and results[1].error.status in (400, 415)


async def test_complete_needs_five_images_then_freezes(sdk: AsyncTailor, tmp_path: Path) -> None:
    p = await _project(sdk)
    d = await sdk.datasets.create(p.id, "small")
    files = write_pngs(tmp_path / "imgs", 5)
    await sdk.images.upload(d.id, files[0])
    with pytest.raises(ConflictError) as e:
        await sdk.datasets.complete(d.id)
    assert e.value.status == 409 and e.value.message
    await sdk.images.upload_many(d.id, files[1:])
    with pytest.raises(ConflictError) as e:  # 5 images, but nothing a model could train on yet
        await sdk.datasets.complete(d.id)
    assert "visual_schema" in e.value.message and "5 image(s) have no caption" in e.value.message
    await sdk.datasets.set_visual_schema(d.id, SCHEMA)
    for image in await sdk.images.list(d.id):
        await sdk.images.update_caption(d.id, image.id, CAPTION)
    done = await sdk.datasets.complete(d.id)
    assert done.status == "completed"
    with pytest.raises(ConflictError):
        await sdk.images.upload(d.id, png(99))


@needs("POST", f"{V1}/generate_visual_schema")
async def test_visual_schema_generate_refine_and_set(sdk: AsyncTailor, tmp_path: Path) -> None:
    p = await _project(sdk)
    d = await sdk.datasets.create(p.id, "with schema")
    files = write_pngs(tmp_path / "imgs", 5)
    schema = await sdk.datasets.generate_visual_schema(files)
    assert isinstance(json.loads(schema), dict)
    refined = await sdk.datasets.refine_structured_prompt(d.id, schema, "the character's name is Lucy")
    assert isinstance(json.loads(refined), dict)
    updated = await sdk.datasets.set_visual_schema(d.id, refined)
    assert json.loads(updated.visual_schema or "{}") == json.loads(refined)


@needs("POST", f"{V1}/generate_visual_schema")
async def test_visual_schema_needs_five_images(sdk: AsyncTailor) -> None:
    with pytest.raises(BadRequestError) as e:
        await sdk.datasets.generate_visual_schema([png(1), png(2)])
    assert "images" in e.value.message


async def test_caption_edit_is_validated(sdk: AsyncTailor) -> None:
    p = await _project(sdk)
    d = await sdk.datasets.create(p.id, "captions")
    img = await sdk.images.upload(d.id, png(3))
    with pytest.raises(BadRequestError) as e:
        await sdk.images.update_caption(d.id, img.id, "{not json")
    assert "caption" in e.value.message
    caption = {
        "short_description": "A small robot waving.",
        "objects": [],
        "background_setting": "plain white",
        "lighting": {"conditions": "soft", "direction": "front", "shadows": "none"},
        "aesthetics": {"composition": "centered", "color_scheme": "bright", "mood_atmosphere": "happy"},
        "style_medium": "illustration",
        "artistic_style": "flat",
    }
    with pytest.raises(BadRequestError) as missing:
        await sdk.images.update_caption(d.id, img.id, caption)
    assert "context" in missing.value.message
    caption["context"] = "a sticker sheet"
    out = await sdk.images.update_caption(d.id, img.id, caption)
    assert out.caption_source == "manual" and json.loads(out.caption or "{}")["short_description"]


@needs("POST", f"{V1}/datasets/{{dataset_id}}/clone")
async def test_clone_copies_images(sdk: AsyncTailor) -> None:
    p = await _project(sdk)
    d = await sdk.datasets.create(p.id, "orig")
    await sdk.images.upload(d.id, png(5))
    c = await sdk.datasets.clone(d.id, name="copy")
    assert c.id != d.id and c.name == "copy" and c.status == "draft"
    assert len(await sdk.images.list(c.id)) == 1


@needs("POST", f"{V1}/datasets/{{dataset_id}}/images/bulk-upload")
async def test_bulk_upload_of_a_folder_as_zip(sdk: AsyncTailor, tmp_path: Path, worker) -> None:  # type: ignore[no-untyped-def]
    p = await _project(sdk)
    d = await sdk.datasets.create(p.id, "bulk", upload_type="advanced")
    write_pngs(tmp_path / "folder", 3)
    started = await sdk.images.bulk_upload(d.id, tmp_path / "folder")
    assert started.status in ("pending", "processing", "completed")
    seen: list[str] = []
    final = await sdk.images.wait_for_bulk_upload(
        d.id, timeout=120, interval=0.2, on_progress=lambda st: seen.append(st.status)
    )
    assert final.status == "completed", final
    assert final.done == 3 and seen[-1] == "completed"
    assert len(await sdk.images.list(d.id)) == 3
