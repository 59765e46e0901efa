"""Browsing a large dataset through the images list (Tailor extensions): pages, caption-state,
readiness-flag and text filters, bulk delete, caption history and per-image metadata."""

from __future__ import annotations

import json

import httpx

from tailor.bootstrap import Runtime
from tailor.store import images as image_store
from tailor.store import measures as measure_store
from tailor.store.db import session_scope
from tailor.store.tables import Dataset
from tests.conftest import new_token
from tests.services.factory import image_bytes
from tests.services.v1_support import API, CAPTION, SCHEMA, blob_keys, error_of, make_dataset, upload


def _caption(text: str) -> str:
    return json.dumps(json.loads(CAPTION) | {"short_description": text})


def _add_rows(rt: Runtime, dataset_id: int, n: int) -> list[int]:
    """``n`` image rows without pixels (the list never reads blobs), in a few states: every 5th has
    no caption, every 7th is pending, every 11th failed, the rest alternate automatic/manual."""
    ids = []
    with session_scope(rt.sessions) as s:
        ds = s.get(Dataset, dataset_id)
        assert ds is not None
        for i in range(n):
            source, caption, error = ("manual" if i % 2 else "automatic"), _caption(f"cat number {i}"), None
            if i % 5 == 0:
                source, caption = None, None
            elif i % 7 == 0:
                source = "pending"
            elif i % 11 == 0:
                error = "the VLM timed out"
            row = image_store.add_image(
                s,
                ds.organization_id,
                ds.id,
                image_name=f"img{i:04d}.jpg",
                blob_key=f"images/{ds.organization_id}/row{i}.jpg",
                thumbnail_key=f"images/{ds.organization_id}/row{i}.thumb.jpg",
                width=1024,
                height=1024,
                sha256=f"{i % 100:064x}",  # rows i and i+100 are exact duplicates
                caption=caption,
                caption_source=source,
                caption_error=error,
            )
            measure_store.save_measures(
                s, row.id, phash=f"{i * 7919:016x}", sharpness=500.0, source_width=1024, source_height=1024
            )
            ids.append(row.id)
    return ids


def _state(i: int) -> str:
    if i % 5 == 0:
        return "missing"
    if i % 7 == 0:
        return "pending"
    if i % 11 == 0:
        return "failed"
    return "manual" if i % 2 else "automatic"


async def _list(client: httpx.AsyncClient, auth: dict[str, str], dataset_id: int, **params: object):
    r = await client.get(f"{API}/datasets/{dataset_id}/images", params=params, headers=auth)
    assert r.status_code == 200, r.text
    return r.json(), int(r.headers["x-total-count"])


async def test_pages_and_filters(client: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime) -> None:
    d = await make_dataset(client, auth, upload_type="advanced")
    ids = _add_rows(runtime, d["id"], 120)
    # without parameters: every image, as Bria's API answers
    everything, total = await _list(client, auth, d["id"])
    assert [i["id"] for i in everything] == ids and total == 120
    assert [i["caption_state"] for i in everything] == [_state(i) for i in range(120)]
    # pages: id order, no overlap, the total counts all pages
    page1, total = await _list(client, auth, d["id"], limit=50)
    page3, _ = await _list(client, auth, d["id"], limit=50, offset=100)
    assert [i["id"] for i in page1] == ids[:50] and [i["id"] for i in page3] == ids[100:] and total == 120
    for state in ("missing", "automatic", "manual", "pending", "failed"):
        want = [ids[i] for i in range(120) if _state(i) == state]
        got, total = await _list(client, auth, d["id"], caption_state=state, limit=10, offset=2)
        assert total == len(want) and [i["id"] for i in got] == want[2:12], state
    # search: name or caption text, case-insensitive; LIKE wildcards are taken literally
    got, total = await _list(client, auth, d["id"], search="CAT NUMBER 33")
    assert [i["image_name"] for i in got] == ["img0033.jpg"] and total == 1
    assert (await _list(client, auth, d["id"], search="img011"))[1] == 10
    assert (await _list(client, auth, d["id"], search="%"))[1] == 0
    # readiness flags (the report's): exact duplicates are rows i and i+100
    got, total = await _list(client, auth, d["id"], flag="exact_duplicate", limit=100)
    assert total == 40 and [i["id"] for i in got] == ids[:20] + ids[100:]
    got, total = await _list(client, auth, d["id"], flag="exact_duplicate", caption_state="missing")
    assert total == 8 and all(i["caption_state"] == "missing" for i in got)
    assert (await _list(client, auth, d["id"], flag="upscaled"))[1] == 0


async def test_bad_list_parameters_name_the_field(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    d = await make_dataset(client, auth)
    base = f"{API}/datasets/{d['id']}/images"
    for params, name in [
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"offset": -1}, "offset"),
        ({"caption_state": "blurry"}, "caption_state"),
        ({"flag": "pending"}, "flag"),
        ({"search": "x" * 201}, "search"),
    ]:
        r = await client.get(base, params=params, headers=auth)
        assert r.status_code == 400 and name in error_of(r), (params, r.text)


async def test_bulk_delete(client: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime) -> None:
    d = await make_dataset(client, auth)
    imgs = [
        (await upload(client, auth, d["id"], image_bytes(color=(30 * i, 40, 40)))).json() for i in range(6)
    ]
    url = f"{API}/datasets/{d['id']}/images/delete"
    assert len(blob_keys(runtime)) == 12
    # all or nothing: one id of another dataset (or unknown) deletes none and is named
    other = await make_dataset(client, auth)
    stranger = (await upload(client, auth, other["id"], image_bytes(color=(0, 0, 200)))).json()
    r = await client.post(url, json={"image_ids": [imgs[0]["id"], stranger["id"]]}, headers=auth)
    assert r.status_code == 404 and str(stranger["id"]) in error_of(r) and "nothing" in error_of(r)
    assert (await _list(client, auth, d["id"]))[1] == 6
    # another organization cannot delete (404), even with the right ids
    globex = {"api_token": new_token(runtime, "globex")}
    r = await client.post(url, json={"image_ids": [imgs[0]["id"]]}, headers=globex)
    assert r.status_code == 404
    for body in ({"image_ids": []}, {"image_ids": [0]}, {"image_ids": "1,2"}, {}):
        r = await client.post(url, json=body, headers=auth)
        assert r.status_code == 400 and "image_ids" in error_of(r), body
    ids = [imgs[i]["id"] for i in (1, 3, 4)]
    r = await client.post(url, json={"image_ids": ids + ids[:1]}, headers=auth)
    assert r.status_code == 200 and r.json() == {"deleted": 3, "image_ids": ids}
    left, _ = await _list(client, auth, d["id"])
    assert [i["id"] for i in left] == [imgs[i]["id"] for i in (0, 2, 5)]
    assert len(blob_keys(runtime)) == 8  # 3 left here and the other dataset's one
    # a completed dataset refuses, as a single delete does
    await client.put(f"{API}/datasets/{d['id']}", json={"visual_schema": SCHEMA}, headers=auth)
    for img in left:
        await client.put(
            f"{API}/datasets/{d['id']}/images/{img['id']}", json={"caption": CAPTION}, headers=auth
        )
    for i in range(2):
        await upload(client, auth, d["id"], image_bytes(color=(0, 90 + i, 0)))
    with session_scope(runtime.sessions) as s:  # complete without running caption jobs
        ds = s.get(Dataset, d["id"])
        assert ds is not None
        ds.status = "completed"
    r = await client.post(url, json={"image_ids": [left[0]["id"]]}, headers=auth)
    assert r.status_code == 409
    assert (await _list(client, auth, d["id"]))[1] == 5


async def test_caption_history_and_metadata(
    client: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime
) -> None:
    from tailor.worker.run import run_pending

    d = await make_dataset(client, auth)
    small = (await upload(client, auth, d["id"], image_bytes((512, 384), fmt="PNG"), name="s.png")).json()
    big = (await upload(client, auth, d["id"], image_bytes())).json()
    assert (small["upload_source"], small["upscaled"], small["source_width"], small["source_height"]) == (
        "upload",
        True,
        512,
        384,
    )
    assert (small["width"], small["height"]) == (1365, 1024)
    assert big["upscaled"] is False and big["file_size"] == len(image_bytes()) and small["file_size"] > 0
    assert big["caption_state"] == "missing" and big["previous_caption"] is None
    url = f"{API}/datasets/{d['id']}/images/{big['id']}"
    first, second = _caption("a cat"), _caption("a cat on a mat")
    assert (await client.put(url, json={"caption": first}, headers=auth)).json()["previous_caption"] is None
    body = (await client.put(url, json={"caption": second}, headers=auth)).json()
    assert json.loads(body["previous_caption"])["short_description"] == "a cat"
    assert body["caption_state"] == "manual"
    # a regenerated caption keeps the one it replaced
    await client.put(f"{API}/datasets/{d['id']}", json={"visual_schema": SCHEMA}, headers=auth)
    assert (await client.put(url, json={"regenerate_caption": True}, headers=auth)).json()[
        "caption_state"
    ] == ("pending")
    run_pending(runtime.queue, runtime.job_context())
    body = (await client.get(url, headers=auth)).json()
    assert body["caption_state"] == "automatic" and body["caption"] != second
    assert body["previous_caption"] == json.dumps(json.loads(second))
    # a clone keeps the history and the metadata
    r = await client.post(f"{API}/datasets/{d['id']}/clone", json={}, headers=auth)
    copy = {i["image_name"]: i for i in r.json()["images"]}
    assert copy[big["image_name"]]["previous_caption"] == body["previous_caption"]
    assert copy["s.png"]["upscaled"] is True and copy["s.png"]["file_size"] == small["file_size"]
