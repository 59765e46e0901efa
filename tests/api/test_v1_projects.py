"""/v1/tailored-gen/projects through real HTTP: rules, CRUD, 409 while training, org scoping, auth."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tailor.bootstrap import Runtime
from tailor.config import Settings
from tests.conftest import make_settings, new_token
from tests.services.v1_support import API, add_model, error_of, make_dataset, make_project


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    # The route walk below sends a wrong token to every route in a row, which would meet the
    # failed-authentication backoff (429); tests/api/test_rate_limits.py covers it.
    return make_settings(tmp_path / "home", db_url, auth_backoff_after=0)


async def test_create_get_list(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    p = await make_project(
        client,
        auth,
        project_name="Lora",
        project_description="our mascot",
        ip_type="defined_character",
        ip_name="Lora",
        ip_description="a girl with purple hair",
    )
    assert p["ip_type"] == "defined_character" and p["ip_medium"] == "illustration"
    assert p["training_version"] is None
    assert p["status"] == "active"
    assert p["created_at"].endswith("Z") and p["updated_at"]
    r = await client.get(f"{API}/projects/{p['id']}", headers=auth)
    assert r.status_code == 200 and r.json() == p
    other = await make_project(client, auth, ip_medium="photography", ip_type="stylized_scene")
    r = await client.get(f"{API}/projects", headers=auth)
    assert [x["id"] for x in r.json()] == [other["id"], p["id"]]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"ip_medium": "photography", "ip_type": "icons"}, "ip_type"),
        ({"ip_medium": "photography", "ip_type": "object_variants", "ip_description": "a cup"}, "ip_type"),
        ({"ip_medium": "photography", "ip_type": "multi_object_set"}, "ip_type"),
        ({"ip_medium": "photography", "ip_type": "character_variants"}, "ip_type"),
        ({"ip_medium": "watercolor", "ip_type": "icons"}, "ip_medium"),
        ({"ip_medium": "illustration", "ip_type": "mascot"}, "ip_type"),
        ({"ip_medium": "illustration"}, "ip_type"),
        (
            {"ip_medium": "illustration", "ip_type": "defined_character", "ip_description": "a girl"},
            "ip_name",
        ),
        (
            {
                "ip_medium": "illustration",
                "ip_type": "defined_character",
                "ip_name": "Sir Lancelot of Lake",
                "ip_description": "a knight",
            },
            "ip_name",
        ),
        ({"ip_medium": "illustration", "ip_type": "icons", "ip_name": "Lora"}, "ip_name"),
        ({"ip_medium": "illustration", "ip_type": "defined_character", "ip_name": "Lora"}, "ip_description"),
        ({"ip_medium": "illustration", "ip_type": "object_variants"}, "ip_description"),
        (
            {
                "ip_medium": "illustration",
                "ip_type": "stylized_scene",
                "ip_description": "one two three four five six seven",
            },
            "ip_description",
        ),
    ],
)
async def test_create_rules(client: httpx.AsyncClient, auth: dict[str, str], body: dict, field: str) -> None:
    r = await client.post(f"{API}/projects", json={"project_name": "x"} | body, headers=auth)
    assert r.status_code == 400, r.text
    assert field in error_of(r)


async def test_create_needs_a_name(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    r = await client.post(
        f"{API}/projects", json={"ip_medium": "illustration", "ip_type": "icons"}, headers=auth
    )
    assert r.status_code == 400 and "project_name" in error_of(r)


async def test_photography_types(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    for t in ("defined_character", "stylized_scene", "other"):
        extra = {"ip_name": "Rex", "ip_description": "a brown dog"} if t == "defined_character" else {}
        await make_project(client, auth, ip_medium="photography", ip_type=t, **extra)


async def test_update(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    p = await make_project(
        client, auth, ip_type="defined_character", ip_name="Lora", ip_description="a girl with purple hair"
    )
    r = await client.put(
        f"{API}/projects/{p['id']}", json={"ip_description": "a girl with green hair"}, headers=auth
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["ip_description"] == "a girl with green hair" and body["ip_name"] == "Lora"
    assert body["project_name"] == p["project_name"]
    r = await client.put(f"{API}/projects/{p['id']}", json={"ip_name": "One Two Three Four"}, headers=auth)
    assert r.status_code == 400 and "ip_name" in error_of(r)
    r = await client.put(f"{API}/projects/{p['id']}", json={"ip_description": "1 2 3 4 5 6 7"}, headers=auth)
    assert r.status_code == 400 and "ip_description" in error_of(r)
    r = await client.put(f"{API}/projects/{p['id']}", json={"project_name": "Renamed"}, headers=auth)
    assert r.json()["project_name"] == "Renamed"
    # the fields PUT cannot change stay put
    r = await client.put(f"{API}/projects/{p['id']}", json={"ip_type": "icons"}, headers=auth)
    assert r.status_code == 200 and r.json()["ip_type"] == "defined_character"


async def test_update_icons_refuses_ip_name(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    p = await make_project(client, auth)
    r = await client.put(f"{API}/projects/{p['id']}", json={"ip_name": "Lora"}, headers=auth)
    assert r.status_code == 400 and "ip_name" in error_of(r)


async def test_delete(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    p = await make_project(client, auth)
    d = await make_dataset(client, auth, project_id=p["id"])
    r = await client.delete(f"{API}/projects/{p['id']}", headers=auth)
    assert r.status_code == 204 and r.content == b""
    assert (await client.get(f"{API}/projects/{p['id']}", headers=auth)).status_code == 404
    assert (await client.get(f"{API}/datasets/{d['id']}", headers=auth)).status_code == 404
    assert (await client.delete(f"{API}/projects/{p['id']}", headers=auth)).status_code == 404


@pytest.mark.parametrize("status", ["InProgress", "Stopping"])
async def test_delete_refused_while_training(
    client: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime, status: str
) -> None:
    d = await make_dataset(client, auth)
    add_model(runtime, d, status)
    r = await client.delete(f"{API}/projects/{d['project_id']}", headers=auth)
    assert r.status_code == 409 and "training" in error_of(r)
    assert (await client.get(f"{API}/projects/{d['project_id']}", headers=auth)).status_code == 200


async def test_delete_allowed_after_training(
    client: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime
) -> None:
    d = await make_dataset(client, auth)
    add_model(runtime, d, "Completed")
    assert (await client.delete(f"{API}/projects/{d['project_id']}", headers=auth)).status_code == 204


async def test_other_organization_sees_nothing(
    client: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime
) -> None:
    p = await make_project(client, auth)
    other = {"api_token": new_token(runtime, "globex")}
    assert (await client.get(f"{API}/projects/{p['id']}", headers=other)).status_code == 404
    assert (
        await client.put(f"{API}/projects/{p['id']}", json={"project_name": "x"}, headers=other)
    ).status_code == 404
    assert (await client.delete(f"{API}/projects/{p['id']}", headers=other)).status_code == 404
    assert (await client.get(f"{API}/projects", headers=other)).json() == []
    assert (await client.get(f"{API}/projects/{p['id']}", headers=auth)).status_code == 200


async def test_auth_required(client: httpx.AsyncClient) -> None:
    for headers in ({}, {"api_token": "tlr_unknown"}):
        r = await client.get(f"{API}/projects", headers=headers)
        assert r.status_code == 401 and error_of(r)
        r = await client.post(f"{API}/projects", json={}, headers=headers)
        assert r.status_code == 401


async def test_non_integer_id(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    r = await client.get(f"{API}/projects/abc", headers=auth)
    assert r.status_code == 400 and "project_id" in error_of(r)


async def test_every_project_dataset_image_route_needs_a_token(client: httpx.AsyncClient) -> None:
    """Walk the published API: each of these routes answers 401 without a token or with a bad one."""
    import re

    spec = (await client.get("/openapi.json")).json()
    mine = re.compile(r"^/v1/tailored-gen/(projects|datasets)")
    seen = 0
    for path, ops in spec["paths"].items():
        if not mine.match(path):
            continue
        concrete = re.sub(r"\{[^}]+\}", "1", path)
        for method in ops:
            for headers in ({}, {"api_token": "tlr_not-a-real-token"}):
                r = await client.request(method.upper(), concrete, headers=headers)
                assert r.status_code == 401, f"{method} {path}: {r.status_code}"
            seen += 1
    assert seen >= 17
