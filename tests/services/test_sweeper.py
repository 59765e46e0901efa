"""The sweeper on the disk store and on S3 (moto): what records name stays, leftovers go once older
than the grace period, and writes cut short by a killed process are cleared.

Records are made through the real API and the real queue (uploads, clones, a bulk upload, v2
requests run by the inline runner on the tiny model); leftovers are what a process killed between a
blob and its record leaves, or a real killed writer process.
"""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update

from tailor.bootstrap import Runtime
from tailor.config import Settings
from tailor.jobs.queue import now
from tailor.services.sweeper import sweep
from tailor.store.blob_disk import DiskBlobStore
from tailor.store.blob_s3 import S3BlobStore
from tailor.store.db import session_scope
from tailor.store.tables import Job
from tailor.worker.run import run_pending
from tests.conftest import REPO, make_settings, process_env
from tests.engine.api_helpers import tiny_dir_for, wait_done
from tests.engine.training.helpers import org_of
from tests.services.factory import image_bytes, zip_bytes
from tests.services.v1_support import API, make_dataset, upload

GRACE_S = 3600.0


def later() -> datetime:
    """A moment past the grace period of everything written so far."""
    return datetime.now(UTC) + timedelta(seconds=GRACE_S + 60)


@pytest.fixture(params=["disk", "s3"])
def settings(
    request: pytest.FixtureRequest, tmp_path: Path, db_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    extra: dict[str, object] = {
        "base_model": str(tiny_dir_for(tmp_path_factory.getbasetemp())),
        "device": "cpu",
        "max_steps": 2,
        "sweep_grace_s": GRACE_S,
    }
    if request.param == "s3":
        endpoint = request.getfixturevalue("s3_server")
        S3BlobStore("tailor-sweep", endpoint_url=endpoint).ensure_bucket()
        extra |= {"blob_url": f"s3://tailor-sweep/run-{uuid.uuid4().hex[:8]}", "s3_endpoint_url": endpoint}
    return make_settings(tmp_path / "home", db_url, **extra)


def keys(rt: Runtime) -> set[str]:
    return set(rt.blobs.list())


def stale_heartbeat(rt: Runtime, job_id: int) -> None:
    with session_scope(rt.sessions) as s:
        s.execute(update(Job).where(Job.id == job_id).values(heartbeat_at=now() - timedelta(seconds=600)))


async def bulk_upload(
    client: httpx.AsyncClient, auth: dict[str, str], rt: Runtime, members: dict[str, bytes]
) -> tuple[int, str]:
    """Start a bulk upload into a new advanced dataset; returns the dataset's id and the key of
    the stored archive."""
    d = await make_dataset(client, auth, upload_type="advanced")
    before = keys(rt)
    r = await client.post(
        f"{API}/datasets/{d['id']}/images/bulk-upload",
        files={"file": ("set.zip", zip_bytes(members), "application/zip")},
        headers=auth,
    )
    assert r.status_code == 202, r.text
    (zip_key,) = keys(rt) - before
    return d["id"], zip_key


async def fetches(client: httpx.AsyncClient, url: str) -> bool:
    return (await client.get(url.removeprefix("http://tailor.test"))).status_code == 200


async def test_sweep_removes_what_no_record_names_and_only_after_the_grace_period(
    client: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime, token: str
) -> None:
    org = org_of(runtime, token)
    # records that name blobs: images (shared with a clone whose source is then deleted), a
    # processed bulk upload, a structured-prompt request with an inline image, a generation
    basic = await make_dataset(client, auth)
    for color in ((200, 40, 40), (40, 200, 40)):
        assert (await upload(client, auth, basic["id"], image_bytes(color=color))).status_code == 201
    r = await client.post(f"{API}/datasets/{basic['id']}/clone", json={"name": "copy"}, headers=auth)
    assert r.status_code in (200, 201), r.text
    copy_id = r.json()["id"]
    assert (await client.delete(f"{API}/datasets/{basic['id']}", headers=auth)).status_code == 204
    await bulk_upload(client, auth, runtime, {"a.jpg": image_bytes(), "b.png": image_bytes(fmt="PNG")})
    inline = base64.b64encode(image_bytes((512, 512))).decode()
    sp = await client.post("/v2/structured_prompt/generate", json={"images": [inline]}, headers=auth)
    gen = await client.post("/v2/image/generate", json={"prompt": "a red house", "seed": 3}, headers=auth)
    assert sp.status_code == gen.status_code == 202
    run_pending(runtime.queue, runtime.job_context())
    assert (await wait_done(client, auth, gen.json()["request_id"]))["status"] == "COMPLETED"
    # a bulk upload whose worker died before it began: reaped, so failed, its archive left over
    _, failed_zip = await bulk_upload(client, auth, runtime, {"c.jpg": image_bytes()})
    dead = runtime.queue.claim("dead-worker", ["bulk_upload"])
    assert dead is not None
    stale_heartbeat(runtime, dead.id)
    assert runtime.queue.reap(30.0) == [(dead.id, "failed")]
    # ...and one still waiting for a worker: its archive is needed
    _, waiting_zip = await bulk_upload(client, auth, runtime, {"d.jpg": image_bytes()})
    named = keys(runtime) - {failed_zip}
    assert {k.split("/")[0] for k in named} == {"images", "requests", "generated", "uploads"}

    # what a process killed between a blob and its record leaves, and what Tailor does not own
    leftovers = {
        f"images/{org}/{uuid.uuid4().hex}.png": b"i" * 10,
        f"images/{org}/{uuid.uuid4().hex}_thumb.jpg": b"t" * 11,
        f"generated/{org}/{uuid.uuid4().hex}.png": b"g" * 12,
        f"requests/{org}/{uuid.uuid4().hex}.jpg": b"r" * 13,
        f"uploads/{org}/{uuid.uuid4().hex}.zip": b"u" * 14,
        f"models/{org}/999-0123456789abcdef/checkpoints/000004/0a1b2c/adapter.safetensors": b"m" * 15,
        f"models/{org}/999-0123456789abcdef/export/000004.zip": b"e" * 16,
    }
    for key, data in leftovers.items():
        runtime.blobs.put(key, data)
    leftover_keys = set(leftovers) | {failed_zip}
    leftover_bytes = sum(len(d) for d in leftovers.values()) + runtime.blobs.size(failed_zip)
    not_ours = {"other/notes.txt", "images/shared/logo.png", "models/tiny-fibo-v1/model.safetensors"}
    for key in not_ours:
        runtime.blobs.put(key, b"x")
    before = keys(runtime)
    assert before == named | leftover_keys | not_ours

    # within the grace period nothing goes, however unnamed
    assert sweep(runtime, grace_s=GRACE_S).count == 0
    assert keys(runtime) == before
    # past it: a dry run counts, then the sweep removes exactly the leftovers
    dry = sweep(runtime, grace_s=GRACE_S, now=later(), dry_run=True)
    assert keys(runtime) == before
    report = sweep(runtime, grace_s=GRACE_S, now=later())
    assert keys(runtime) == named | not_ours and waiting_zip in named
    assert report.count == dry.count == len(leftover_keys)
    assert report.bytes == dry.bytes == leftover_bytes
    assert report.removed["uploads"].count == 2 and report.removed["models"].count == 2
    assert report.removed["images"].count == 2 and report.removed["images"].bytes == 21
    # a second sweep finds nothing more, and every record still resolves to its file
    assert sweep(runtime, grace_s=GRACE_S, now=later()).count == 0
    copy = (await client.get(f"{API}/datasets/{copy_id}", headers=auth)).json()
    assert len(copy["images"]) == 2
    for image in copy["images"]:
        assert await fetches(client, image["image_url"]) and await fetches(client, image["thumbnail_url"])
    result = await wait_done(client, auth, gen.json()["request_id"])
    assert await fetches(client, result["result"]["image_url"])


async def test_model_files_live_as_long_as_their_records(
    client: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime, token: str
) -> None:
    """A trained model keeps every file its records name; files of runs that never recorded them
    (killed, or fenced off) go, and so does everything of a model that is gone."""
    from tailor.store import checkpoints as ckpt_store
    from tailor.store.tables import TailoredModel
    from tests.engine.training.helpers import seed_dataset
    from tests.engine.training.test_training_job import start_model

    st = runtime.settings
    st.training_max_steps, st.training_checkpoint_interval = 4, 2
    st.training_grad_accumulation, st.training_gradient_checkpointing, st.training_sample_steps = 1, False, 2
    seeded = seed_dataset(runtime, token, n=5)
    mid = await start_model(client, auth, seeded.dataset_id, rank=4)
    run_pending(runtime.queue, runtime.job_context())
    with session_scope(runtime.sessions) as s:
        model = s.get(TailoredModel, mid)
        assert model.status == "Completed"
        prefix, final_key = model.blob_prefix, model.adapter_key
        rows = ckpt_store.list_checkpoints(s, mid)
        old_state = rows[-1].adapter_key.rsplit("/", 1)[0] + "/state.pt"
    assert (await client.get(f"{API}/models/{mid}/download", headers=auth)).status_code == 200
    trained = {k for k in keys(runtime) if k.startswith(prefix)}
    assert final_key in trained and any("/export/" in k for k in trained)

    leftovers = {
        f"{prefix}checkpoints/000004/deadbeef0000/adapter.safetensors",  # a run killed before its record
        f"{prefix}checkpoints/000004/deadbeef0000/sample.png",
        f"{prefix}final/deadbeef0000/adapter.safetensors",  # a fenced-off run's final adapter
        old_state,  # a superseded resumable state whose removal was cut short
    }
    for key in leftovers:
        runtime.blobs.put(key, b"stale")
    report = sweep(runtime, grace_s=GRACE_S, now=later())
    assert report.removed["models"].count == len(leftovers)
    assert {k for k in keys(runtime) if k.startswith(prefix)} == trained

    # a model trained before runs had ids keeps its files where they are (models/<id>/...)
    from tailor.store.models import add_model

    with session_scope(runtime.sessions) as s:
        legacy = add_model(
            s,
            organization_id=seeded.org_id,
            project_id=seeded.project_id,
            dataset_id=seeded.dataset_id,
            name="old",
            status="Completed",
        )
        legacy.blob_prefix = old_prefix = f"models/{legacy.id}/"
        legacy.adapter_key = f"{old_prefix}adapter.safetensors"
        ckpt_store.save_checkpoint(
            s,
            legacy.id,
            100,
            adapter_key=f"{old_prefix}checkpoints/000100/adapter.safetensors",
            sample_key=f"{old_prefix}checkpoints/000100/sample.png",
        )
    old_files = {
        f"{old_prefix}adapter.safetensors",
        f"{old_prefix}adapter.safetensors.json",
        f"{old_prefix}checkpoints/000100/adapter.safetensors",
        f"{old_prefix}checkpoints/000100/adapter.safetensors.json",
        f"{old_prefix}checkpoints/000100/sample.png",
        f"{old_prefix}export/000100.zip",
    }
    deleted_checkpoint = f"{old_prefix}checkpoints/000200/adapter.safetensors"
    for key in old_files | {deleted_checkpoint}:
        runtime.blobs.put(key, b"old")
    assert sweep(runtime, grace_s=GRACE_S, now=later()).removed["models"].count == 1
    assert {k for k in keys(runtime) if k.startswith(old_prefix)} == old_files

    # the model is deleted, and its files outlived the record (the process died in between)
    assert (await client.delete(f"{API}/models/{mid}", headers=auth)).status_code == 204
    for key in trained:
        runtime.blobs.put(key, b"left behind")
    assert sweep(runtime, grace_s=GRACE_S).count == 0  # still within the grace period
    assert sweep(runtime, grace_s=GRACE_S, now=later()).removed["models"].count == len(trained)
    assert not any(k.startswith(prefix) for k in keys(runtime))


def worker_env(settings: Settings, **extra: str) -> dict[str, str]:
    """A worker process on the test's database and blob store, with fast heartbeats."""
    return process_env(
        settings,
        TAILOR_HEARTBEAT_INTERVAL_S="0.2",
        TAILOR_HEARTBEAT_TIMEOUT_S="2",
        TAILOR_WORKER_POLL_INTERVAL_S="0.05",
        **extra,
    )


def wait_until(predicate, timeout_s: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.01)


def image_rows(rt: Runtime) -> set[str]:
    from tailor.store.tables import Image

    with session_scope(rt.sessions) as s:
        return {k for row in s.query(Image).all() for k in (row.blob_key, row.thumbnail_key)}


async def test_a_worker_killed_during_a_bulk_upload_leaves_nothing_after_a_sweep(
    client: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime, settings: Settings
) -> None:
    from tailor.store.tables import BulkUpload

    members = {f"{i:03d}.jpg": image_bytes(color=(i, 255 - i, 90)) for i in range(120)}
    dataset_id, zip_key = await bulk_upload(client, auth, runtime, members)
    worker = subprocess.Popen(
        [sys.executable, "-m", "tailor.worker.supervisor"],
        env=worker_env(settings, TAILOR_WORKER_KINDS="bulk_upload"),
        cwd=REPO,
    )
    try:
        # freeze the worker once a batch of rows is committed and later images are stored without
        # rows yet (what a kill mid-upload strands), then kill it
        def stranded() -> bool:
            with session_scope(runtime.sessions) as s:
                row = s.query(BulkUpload).one()
                done, status = row.done, row.status
            assert status != "completed", "the upload finished before it could be caught mid-way"
            if done < 25:
                return False
            os.kill(worker.pid, signal.SIGSTOP)
            images = {k for k in keys(runtime) if k.startswith("images/")}
            if images - image_rows(runtime):
                return True
            os.kill(worker.pid, signal.SIGCONT)
            return False

        wait_until(stranded, timeout_s=120, what="images stored ahead of their rows")
        worker.kill()
        worker.wait()
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    # the reaper finds the job of the dead worker and fails the upload
    wait_until(lambda: runtime.queue.reap(2.0), timeout_s=30, what="the reaper")
    status = (await client.get(f"{API}/datasets/{dataset_id}/images/bulk-upload/status", headers=auth)).json()
    assert status["status"] == "failed" and "interrupted" in status["error"]
    rows = image_rows(runtime)
    stranded_keys = {k for k in keys(runtime) if k.startswith("images/")} - rows
    assert rows and stranded_keys and zip_key in keys(runtime)

    assert sweep(runtime, grace_s=GRACE_S).count == 0
    report = sweep(runtime, grace_s=GRACE_S, now=later())
    assert report.removed["images"].count == len(stranded_keys)
    assert report.removed["uploads"].count == 1
    assert {k for k in keys(runtime) if k.startswith(("images/", "uploads/"))} == rows
    if isinstance(runtime.blobs, DiskBlobStore):
        assert not [p for p in runtime.blobs.root.rglob(".tmp-*")]
    # the images the upload committed are intact
    ds = (await client.get(f"{API}/datasets/{dataset_id}", headers=auth)).json()
    assert ds["images_count"] == len(rows) // 2
    url = ds["images"][0]["image_url"].removeprefix("http://tailor.test")
    assert (await client.get(url)).status_code == 200


def test_writes_cut_short_by_a_killed_process_are_cleared(runtime: Runtime, settings: Settings) -> None:
    key = f"uploads/1/{uuid.uuid4().hex}.zip"
    writer = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.services.partial_writer",
            settings.resolved_blob_url,
            settings.s3_endpoint_url or "-",
            key,
        ],
        env=worker_env(settings),
        cwd=REPO,
    )
    blobs = runtime.blobs
    try:
        if isinstance(blobs, DiskBlobStore):

            def partial() -> int:
                return sum(p.stat().st_size for p in blobs.root.rglob(".tmp-*"))
        else:
            assert isinstance(blobs, S3BlobStore)

            def partial() -> int:
                uploads = blobs.client.list_multipart_uploads(Bucket=blobs.bucket).get("Uploads", [])
                mine = [u for u in uploads if u["Key"].endswith(key)]
                if not mine:
                    return 0
                parts = blobs.client.list_parts(
                    Bucket=blobs.bucket, Key=mine[0]["Key"], UploadId=mine[0]["UploadId"]
                )
                return sum(p["Size"] for p in parts.get("Parts", []))

        wait_until(lambda: partial() >= 8 * 1024 * 1024, timeout_s=60, what="the write to be under way")
        writer.kill()
        writer.wait()
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()
    written = partial()
    assert not blobs.exists(key)

    young = sweep(runtime, grace_s=GRACE_S)
    assert young.count == 0 and partial() == written
    report = sweep(runtime, grace_s=GRACE_S, now=later())
    assert report.removed["partial writes"].count == 1
    assert report.removed["partial writes"].bytes == written
    assert partial() == 0 and not blobs.exists(key)
