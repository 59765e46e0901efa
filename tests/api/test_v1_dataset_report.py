"""The dataset readiness report through HTTP: each known defect flagged, a clean dataset flagged
nothing, completion refused (409) on blocking problems unless ``force``."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tailor.config import Settings
from tests.conftest import make_settings
from tests.services.readiness_images import blurred, caption, encode, resized_copy, textured
from tests.services.v1_support import API, SCHEMA, error_of, make_dataset, make_project, upload


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # small images keep the test fast: 128 px is the minimum side here, 64 px the smallest upscaled
    return make_settings(
        tmp_path / "home", f"sqlite:///{tmp_path / 'tailor.db'}", min_image_side=128, min_upscale_side=64
    )


async def _add(client: httpx.AsyncClient, auth: dict[str, str], ds: int, data: bytes, name: str) -> int:
    r = await upload(client, auth, ds, data, name=name, increase_resolution="true")
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


async def _set_schema(client: httpx.AsyncClient, auth: dict[str, str], ds: int) -> None:
    r = await client.put(f"{API}/datasets/{ds}", json={"visual_schema": SCHEMA}, headers=auth)
    assert r.status_code == 200, r.text


async def _caption(client: httpx.AsyncClient, auth: dict[str, str], ds: int, image: int, text: str) -> None:
    r = await client.put(f"{API}/datasets/{ds}/images/{image}", json={"caption": text}, headers=auth)
    assert r.status_code == 200, r.text


async def _report(client: httpx.AsyncClient, auth: dict[str, str], ds: int) -> dict:
    r = await client.get(f"{API}/datasets/{ds}/report", headers=auth)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def _flags(report: dict) -> dict[int, set[str]]:
    return {i["id"]: set(i["flags"]) for i in report["images"]}


async def test_clean_dataset_flags_nothing(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    project = await make_project(client, auth, ip_medium="photography", ip_type="other")
    ds = (await make_dataset(client, auth, project_id=project["id"]))["id"]
    ids = [await _add(client, auth, ds, encode(textured(seed)), f"{seed}.png") for seed in range(10)]
    await _set_schema(client, auth, ds)
    for i in ids:
        await _caption(client, auth, ds, i, caption(f"shapes number {i} on a plain ground"))
    report = await _report(client, auth, ds)
    assert report["verdict"] == "ready", report["problems"]
    assert report["problems"] == []
    assert all(flags == set() for flags in _flags(report).values())
    assert report["measured_count"] == 10 and report["captions"]["coverage"] == 1.0
    assert report["captions"]["manual"] == 10 and report["buckets"] == {"1:1": 10}
    assert all(i["sharpness"] > 50 for i in report["images"])
    r = await client.put(f"{API}/datasets/{ds}", json={"status": "completed"}, headers=auth)
    assert r.status_code == 200 and r.json()["status"] == "completed"


async def test_each_defect_is_flagged(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    project = await make_project(client, auth, ip_medium="photography", ip_type="other")
    ds = (await make_dataset(client, auth, project_id=project["id"]))["id"]
    clean = [textured(seed) for seed in range(5)]
    ids = [await _add(client, auth, ds, encode(im), f"clean{n}.png") for n, im in enumerate(clean)]
    exact = await _add(client, auth, ds, encode(clean[0]), "copy.png")
    near = await _add(client, auth, ds, resized_copy(clean[1]), "resized.jpg")
    blur = await _add(client, auth, ds, blurred(textured(20)), "blurred.png")
    small = await _add(client, auth, ds, encode(textured(21, (96, 96))), "small.png")
    wide = await _add(client, auth, ds, encode(textured(22, (400, 130))), "wide.png")
    strip = await _add(client, auth, ds, encode(textured(23, (640, 128))), "strip.png")
    await _set_schema(client, auth, ds)
    for i in [*ids, exact, near, blur, small, wide, strip]:
        await _caption(client, auth, ds, i, caption())
    await _caption(client, auth, ds, ids[2], caption(style_medium="oil painting"))
    await _caption(client, auth, ds, ids[3], caption("shapes"))

    report = await _report(client, auth, ds)
    flags = _flags(report)
    assert flags[ids[0]] == {"exact_duplicate"} and flags[exact] == {"exact_duplicate"}
    assert report["duplicates"]["exact"] == [[ids[0], exact]]
    assert flags[ids[1]] == {"near_duplicate"} and flags[near] == {"near_duplicate"}
    assert [p["image_ids"] for p in report["duplicates"]["near"]] == [[ids[1], near]]
    assert flags[blur] == {"blurry"}
    assert flags[small] == {"upscaled"}
    assert report["upscaled"]["count"] == 1 and report["upscaled"]["share"] == pytest.approx(1 / 11, abs=1e-3)
    assert flags[wide] == {"extreme_aspect_ratio"}
    assert flags[strip] == {"cropped_in_half"}
    assert flags[ids[2]] == {"caption_contradicts_schema"}
    assert report["captions"]["contradicting"] == [{"image_id": ids[2], "fields": ["style_medium"]}]
    assert flags[ids[3]] == {"short_description"}
    assert flags[ids[4]] == set()
    assert report["verdict"] == "not_ready"
    assert report["buckets"]["1:1"] == 9 and sum(report["buckets"].values()) == 11
    blocking = {p["code"] for p in report["problems"] if p["severity"] == "blocking"}
    assert blocking == {"caption_contradicts_schema", "cropped_in_half"}

    # completion names the blocking problems; force completes anyway
    r = await client.put(f"{API}/datasets/{ds}", json={"status": "completed"}, headers=auth)
    assert r.status_code == 409
    message = error_of(r)
    assert f"image {ids[2]}: style_medium" in message and "force" in message and "crop" in message
    r = await client.get(f"{API}/datasets/{ds}", headers=auth)
    assert r.json()["status"] == "draft"
    r = await client.put(f"{API}/datasets/{ds}", json={"status": "completed", "force": True}, headers=auth)
    assert r.status_code == 200 and r.json()["status"] == "completed"


async def test_report_follows_changes_and_clones(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    ds = (await make_dataset(client, auth))["id"]
    a = await _add(client, auth, ds, encode(textured(1)), "a.png")
    b = await _add(client, auth, ds, encode(textured(1)), "b.png")
    report = await _report(client, auth, ds)
    assert report["verdict"] == "not_ready"  # fewer than 5 images
    assert _flags(report)[a] == {"exact_duplicate"}
    r = await client.delete(f"{API}/datasets/{ds}/images/{b}", headers=auth)
    assert r.status_code == 204
    assert _flags(await _report(client, auth, ds))[a] == set()
    r = await client.post(f"{API}/datasets/{ds}/clone", json={}, headers=auth)
    clone = r.json()["id"]
    cloned = await _report(client, auth, clone)
    assert cloned["measured_count"] == 1 and cloned["images"][0]["phash"] is not None


async def test_report_errors(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    r = await client.get(f"{API}/datasets/999/report", headers=auth)
    assert r.status_code == 404 and "999" in error_of(r)
    r = await client.get(f"{API}/datasets/1/report")
    assert r.status_code == 401
    ds = (await make_dataset(client, auth))["id"]
    r = await client.put(f"{API}/datasets/{ds}", json={"force": None}, headers=auth)
    assert r.status_code == 400 and "force" in error_of(r)
    r = await client.put(f"{API}/datasets/{ds}", json={"force": "maybe"}, headers=auth)
    assert r.status_code == 400 and "force" in error_of(r)
    assert json.loads(SCHEMA)
