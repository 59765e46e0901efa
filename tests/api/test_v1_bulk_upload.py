"""Bulk zip upload to advanced datasets: the 202 start, the background job, hostile archives."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import httpx
import pytest

from tailor.api.app import create_app
from tailor.bootstrap import Runtime, build_runtime
from tailor.worker.run import run_pending
from tests.conftest import make_settings, new_token
from tests.services.factory import image_bytes, serve, zip_bytes
from tests.services.v1_support import API, SCHEMA, blob_keys, error_of, make_dataset


async def _start(
    client: httpx.AsyncClient, auth: dict[str, str], dataset_id: int, archive: bytes
) -> httpx.Response:
    return await client.post(
        f"{API}/datasets/{dataset_id}/images/bulk-upload",
        files={"file": ("images.zip", archive, "application/zip")},
        headers=auth,
    )


async def _status(client: httpx.AsyncClient, auth: dict[str, str], dataset_id: int) -> dict:
    r = await client.get(f"{API}/datasets/{dataset_id}/images/bulk-upload/status", headers=auth)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def _bomb(size: int) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("bomb.png", b"\x00" * size)
    return buf.getvalue()


async def test_bulk_upload_with_hostile_members(
    client: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime
) -> None:
    d = await make_dataset(client, auth, upload_type="advanced")
    good = image_bytes()
    members = {
        "a.jpg": good,
        "sub/b.png": image_bytes(fmt="PNG"),
        "small.webp": image_bytes((300, 300), fmt="WEBP"),
        "../escape.jpg": good,
        "/abs/path.jpg": good,
        "C:/windows.jpg": good,
        "inner.zip": zip_bytes({"x.jpg": good}),
        "hidden_zip.jpg": zip_bytes({"x.jpg": good}),
        "notes.txt": b"hello",
        "fake.jpg": b"not an image at all",
        "cut.jpg": good[:4000],
        "tiny.png": image_bytes((100, 100), fmt="PNG"),
        "bomb.png": b"\x00" * 5_000_000,  # ~5000:1 compression ratio
        "__MACOSX/._a.jpg": b"resource fork",
        ".DS_Store": b"junk",
        "folder/": b"",
    }
    archive = zip_bytes(members, symlinks={"link.jpg": "/etc/passwd"})
    r = await _start(client, auth, d["id"], archive)
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "pending"
    assert (await _status(client, auth, d["id"]))["status"] == "pending"
    assert run_pending(runtime.queue, runtime.job_context()) == 1
    st = await _status(client, auth, d["id"])
    assert st["status"] == "completed" and st["progress_percentage"] == 100
    assert st["done"] == 3 and st["failed"] == 11 and st["total_processed"] == 14
    failed = {f["filename"]: (f["error_code"], f["error_message"]) for f in st["failed_images"]}
    assert failed["../escape.jpg"][0] == 400 and ".." in failed["../escape.jpg"][1]
    assert failed["/abs/path.jpg"][0] == 400 and "absolute" in failed["/abs/path.jpg"][1]
    assert failed["C:/windows.jpg"][0] == 400
    assert failed["link.jpg"][0] == 400 and "symbolic" in failed["link.jpg"][1]
    assert failed["inner.zip"][0] == 415 and "nested" in failed["inner.zip"][1]
    assert failed["hidden_zip.jpg"][0] == 415 and "nested" in failed["hidden_zip.jpg"][1]
    assert failed["notes.txt"][0] == 415 and failed["fake.jpg"][0] == 415
    assert failed["cut.jpg"][0] == 400
    assert failed["tiny.png"][0] == 412
    assert failed["bomb.png"][0] == 413 and "ratio" in failed["bomb.png"][1]
    ds = (await client.get(f"{API}/datasets/{d['id']}", headers=auth)).json()
    assert ds["images_count"] == 3
    assert sorted(i["image_name"] for i in ds["images"]) == ["a.jpg", "b.png", "small.webp"]
    assert {(i["width"], i["height"]) for i in ds["images"]} == {(1024, 1024)}
    # only the accepted images' blobs remain (the uploaded archive is removed once processed)
    assert len(blob_keys(runtime)) == 6 and all(k.startswith("images/") for k in blob_keys(runtime))
    # one bulk upload per dataset
    r = await _start(client, auth, d["id"], zip_bytes({"a.jpg": good}))
    assert r.status_code == 409


async def test_bulk_upload_queues_captions_with_a_schema(
    client: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime
) -> None:
    d = await make_dataset(client, auth, upload_type="advanced")
    await client.put(f"{API}/datasets/{d['id']}", json={"visual_schema": SCHEMA}, headers=auth)
    assert (await _start(client, auth, d["id"], zip_bytes({"a.jpg": image_bytes()}))).status_code == 202
    job = runtime.queue.claim("test", kinds=["bulk_upload"])
    assert job is not None
    from tailor.worker.run import bind, record, run_attempt

    ctx = bind(runtime.job_context(), runtime.queue, job, "test")
    record(runtime.queue, job, "test", run_attempt(runtime.registry, job.kind, ctx, dict(job.payload)))
    images = (await client.get(f"{API}/datasets/{d['id']}/images", headers=auth)).json()
    assert [i["caption_source"] for i in images] == ["pending"]
    assert runtime.queue.claim("test", kinds=["caption_image"]) is not None


async def test_bulk_upload_refusals(
    client: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime
) -> None:
    basic = await make_dataset(client, auth)
    archive = zip_bytes({"a.jpg": image_bytes()})
    r = await _start(client, auth, basic["id"], archive)
    assert r.status_code == 409 and "advanced" in error_of(r)
    adv = await make_dataset(client, auth, upload_type="advanced")
    r = await _start(client, auth, adv["id"], b"this is not a zip archive")
    assert r.status_code == 415 and "zip" in error_of(r)
    r = await client.post(f"{API}/datasets/{adv['id']}/images/bulk-upload", json={}, headers=auth)
    assert r.status_code == 400 and "zip_url" in error_of(r)
    r = await client.post(
        f"{API}/datasets/{adv['id']}/images/bulk-upload",
        json={"zip_url": "http://127.0.0.1:9/a.zip"},
        headers=auth,
    )
    assert r.status_code == 400 and "non-public" in error_of(r)
    r = await client.get(f"{API}/datasets/{adv['id']}/images/bulk-upload/status", headers=auth)
    assert r.status_code == 404
    assert blob_keys(runtime) == set()
    other = {"api_token": new_token(runtime, "globex")}
    assert (await _start(client, other, adv["id"], archive)).status_code == 404
    r = await client.get(f"{API}/datasets/{adv['id']}/images/bulk-upload/status", headers=other)
    assert r.status_code == 404


async def _app_client(settings_overrides: dict, tmp_path: Path, db_url: str):  # type: ignore[no-untyped-def]
    settings = make_settings(tmp_path / "home", db_url, **settings_overrides)
    rt = build_runtime(settings, migrate=True)
    auth = {"api_token": new_token(rt, "acme")}
    transport = httpx.ASGITransport(app=create_app(settings, rt))
    return rt, auth, httpx.AsyncClient(transport=transport, base_url="http://tailor.test")


async def test_total_unpacked_cap_rolls_back(tmp_path: Path, db_url: str) -> None:
    good = image_bytes()
    rt, auth, client = await _app_client({"max_zip_uncompressed_bytes": len(good) * 3}, tmp_path, db_url)
    try:
        async with client:
            d = await make_dataset(client, auth, upload_type="advanced")
            # declared sizes over the cap: refused before any member is read
            archive = zip_bytes({f"{i}.jpg": good for i in range(4)})
            assert (await _start(client, auth, d["id"], archive)).status_code == 202
            run_pending(rt.queue, rt.job_context())
            st = await _status(client, auth, d["id"])
            assert st["status"] == "failed" and "unpack" in st["error"]
            assert (await client.get(f"{API}/datasets/{d['id']}", headers=auth)).json()["images_count"] == 0
            assert blob_keys(rt) == set()
    finally:
        rt.close()


async def test_lying_header_sizes_are_caught_while_streaming(tmp_path: Path, db_url: str) -> None:
    """A member whose header understates its size cannot unpack past what it declared."""
    good = image_bytes()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("ok.jpg", good)
        zf.writestr("liar.png", b"\x00" * 2_000_000)
    raw = bytearray(buf.getvalue())
    # rewrite liar.png's declared uncompressed size (local header and central directory) to 1000 bytes
    for sig, off in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = 0
        while (pos := raw.find(sig, start)) >= 0:
            name_len = int.from_bytes(
                raw[pos + off + 4 : pos + off + 6] if sig == b"PK\x03\x04" else raw[pos + 28 : pos + 30],
                "little",
            )
            name_at = pos + (30 if sig == b"PK\x03\x04" else 46)
            if bytes(raw[name_at : name_at + name_len]) == b"liar.png":
                raw[pos + off : pos + off + 4] = (1000).to_bytes(4, "little")
            start = pos + 4
    rt, auth, client = await _app_client({}, tmp_path, db_url)
    try:
        async with client:
            d = await make_dataset(client, auth, upload_type="advanced")
            assert (await _start(client, auth, d["id"], bytes(raw))).status_code == 202
            run_pending(rt.queue, rt.job_context())
            st = await _status(client, auth, d["id"])
            assert st["status"] == "completed" and st["done"] == 1
            assert [f["filename"] for f in st["failed_images"]] == ["liar.png"]
            assert st["failed_images"][0]["error_code"] in (400, 413)
    finally:
        rt.close()


async def test_zip_url(tmp_path: Path, db_url: str) -> None:
    archive = zip_bytes({"a.jpg": image_bytes(), "b.jpg": image_bytes(fmt="PNG")})
    rt, auth, client = await _app_client({"allow_private_urls": True}, tmp_path, db_url)
    try:
        async with client:
            d = await make_dataset(client, auth, upload_type="advanced")
            with serve({"/set.zip": (200, {"Content-Type": "application/zip"}, archive)}) as base:
                r = await client.post(
                    f"{API}/datasets/{d['id']}/images/bulk-upload",
                    json={"zip_url": f"{base}/set.zip"},
                    headers=auth,
                )
                assert r.status_code == 202, r.text
                run_pending(rt.queue, rt.job_context())
            st = await _status(client, auth, d["id"])
            assert st["status"] == "completed" and st["done"] == 2 and st["failed_images"] == []
            # a failed fetch fails the upload, and a failed upload may be retried
            d2 = await make_dataset(client, auth, upload_type="advanced")
            with serve({}) as base:
                r = await client.post(
                    f"{API}/datasets/{d2['id']}/images/bulk-upload",
                    json={"zip_url": f"{base}/missing.zip"},
                    headers=auth,
                )
                assert r.status_code == 202
                run_pending(rt.queue, rt.job_context())
            st = await _status(client, auth, d2["id"])
            assert st["status"] == "failed" and "404" in st["error"]
            assert (await _start(client, auth, d2["id"], archive)).status_code == 202
    finally:
        rt.close()


async def test_zip_over_body_limit(tmp_path: Path, db_url: str) -> None:
    rt, auth, client = await _app_client({"max_zip_bytes": 50_000}, tmp_path, db_url)
    try:
        async with client:
            d = await make_dataset(client, auth, upload_type="advanced")
            archive = zip_bytes({"noise.bin": os.urandom(60_000)})
            assert len(archive) > 50_000
            r = await _start(client, auth, d["id"], archive)
            assert r.status_code == 413 and error_of(r)
            assert blob_keys(rt) == set()
    finally:
        rt.close()


@pytest.mark.parametrize("entries", [3])
async def test_too_many_entries(tmp_path: Path, db_url: str, entries: int) -> None:
    rt, auth, client = await _app_client({"max_zip_entries": 2}, tmp_path, db_url)
    try:
        async with client:
            d = await make_dataset(client, auth, upload_type="advanced")
            archive = zip_bytes({f"{i}.txt": b"x" for i in range(entries)})
            r = await _start(client, auth, d["id"], archive)
            assert r.status_code == 413 and "entries" in error_of(r)
    finally:
        rt.close()


async def test_a_bulk_upload_whose_worker_died_reports_failed(
    client: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime
) -> None:
    d = await make_dataset(client, auth, upload_type="advanced")
    r = await _start(client, auth, d["id"], zip_bytes({"a.jpg": image_bytes()}))
    assert r.status_code == 202
    # a worker claims the job and then vanishes (SIGKILL, lost machine): no heartbeat ever again
    job = runtime.queue.claim("doomed-worker", ["bulk_upload"])
    assert job is not None
    reaped = runtime.queue.reap(timeout_s=0)
    assert reaped == [(job.id, "failed")]
    st = await _status(client, auth, d["id"])
    assert st["status"] == "failed"
    assert "interrupted" in st["error"] and "doomed-worker" in st["error"]
    # a failed bulk upload can be tried again
    r = await _start(client, auth, d["id"], zip_bytes({"a.jpg": image_bytes()}))
    assert r.status_code == 202, r.text


async def test_an_interrupted_upload_removes_its_archive(
    client: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime, worker: object
) -> None:
    """Cancelled mid-way (the job stops at its next progress report): the images it added are
    rolled back and the archive is deleted with them, not left behind."""
    import asyncio

    d = await make_dataset(client, auth, upload_type="advanced")
    archive = zip_bytes({f"{i:03d}.jpg": image_bytes(color=(i, 90, 255 - i)) for i in range(150)})
    assert (await _start(client, auth, d["id"], archive)).status_code == 202
    with runtime.sessions() as s:
        from tailor.store.tables import BulkUpload

        row = s.query(BulkUpload).one()
        job_id, zip_key = row.job_id, row.zip_key
    assert zip_key
    for _ in range(600):
        if (await _status(client, auth, d["id"]))["status"] == "processing":
            break
        await asyncio.sleep(0.01)
    runtime.queue.cancel(job_id)
    for _ in range(1000):
        if runtime.queue.is_terminal(job_id):
            break
        await asyncio.sleep(0.02)
    st = await _status(client, auth, d["id"])
    assert st["status"] == "failed" and "interrupted" in st["error"], st
    assert zip_key not in blob_keys(runtime)
    assert blob_keys(runtime) == set()  # the images it had added are rolled back as well
