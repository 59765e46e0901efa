"""Malformed input answers 4xx in the error shape, never 500, and changes nothing.

One test (or parametrised family) per case a red-team run found, plus those found while fixing
them. The general property (no 5xx for any generated input to any operation) is in
``test_openapi_fuzz.py``.
"""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import func, select, text

from tailor.bootstrap import Runtime
from tailor.store.tables import Dataset, Image, Job, Project, TailoredModel
from tests.engine.api_helpers import add_model
from tests.services.factory import image_bytes
from tests.services.v1_support import API, blob_keys, error_of, make_dataset, make_project, upload

BIG_IDS = [2**31, 2**63, 10**20]
DEEP = "[" * 100_000 + "]" * 100_000
DEEP_TEXT = "[" * 45_000 + "]" * 45_000  # within the 100 000 characters a structured prompt may have


def _count(rt: Runtime, table: Any) -> int:
    with rt.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(table)) or 0)


def _counts(rt: Runtime) -> dict[str, int]:
    tables = {"projects": Project, "datasets": Dataset, "images": Image, "models": TailoredModel, "jobs": Job}
    return {name: _count(rt, table) for name, table in tables.items()}


def _json(body: Any) -> dict[str, Any]:
    """Raw JSON (ASCII, so NUL and lone surrogates travel as escapes, as a client would send them)."""
    return {"content": json.dumps(body), "headers": {"content-type": "application/json"}}


async def _send(
    client: httpx.AsyncClient, auth: dict[str, str], method: str, path: str, body: Any = None
) -> httpx.Response:
    if body is None:
        return await client.request(method, path, headers=auth)
    raw = _json(body)
    return await client.request(method, path, content=raw["content"], headers={**auth, **raw["headers"]})


# --- ids beyond any stored id -------------------------------------------------------------------

PATH_IDS = [
    ("GET", f"{API}/projects/{{id}}", None, "project_id"),
    ("PUT", f"{API}/projects/{{id}}", {"project_name": "x"}, "project_id"),
    ("GET", f"{API}/projects/{{id}}/models", None, "project_id"),
    ("DELETE", f"{API}/datasets/{{id}}", None, "dataset_id"),
    ("GET", f"{API}/datasets/{{id}}/images/bulk-upload/status", None, "dataset_id"),
    ("GET", f"{API}/datasets/1/images/{{id}}", None, "image_id"),
    ("GET", f"{API}/models/{{id}}", None, "model_id"),
    ("POST", f"{API}/models/{{id}}/start_training", {}, "model_id"),
    ("GET", f"{API}/models/1/checkpoints/{{id}}", None, "checkpoint_step"),
]


@pytest.mark.parametrize(("method", "template", "body", "name"), PATH_IDS)
async def test_path_ids_that_cannot_exist_answer_404(
    client: httpx.AsyncClient, auth: dict[str, str], method: str, template: str, body: Any, name: str
) -> None:
    for value in [*BIG_IDS, 0, -1]:
        r = await _send(client, auth, method, template.format(id=value), body)
        assert r.status_code == 404, (value, r.text)
        assert name in error_of(r)


async def test_a_path_id_that_is_not_a_number_is_still_a_400(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    r = await client.get(f"{API}/projects/abc", headers=auth)
    assert r.status_code == 400
    assert "project_id" in error_of(r)


BODY_IDS = [
    ("POST", f"{API}/datasets", {"name": "d"}, "project_id"),
    ("POST", f"{API}/models", {"name": "m"}, "dataset_id"),
    (
        "POST",
        f"{API}/refine_structured_prompt",
        {"structured_prompt": "{}", "instruction": "brighter"},
        "dataset_id",
    ),
    ("PUT", f"{API}/models/1", {}, "active_model_version"),
    ("POST", "/v2/image/generate/tailored", {"prompt": "a cat"}, "tailored_model_id"),
    ("POST", "/v2/structured_prompt/generate/tailored", {"prompt": "a cat"}, "tailored_model_id"),
]


@pytest.mark.parametrize(("method", "path", "body", "field"), BODY_IDS)
async def test_body_ids_out_of_range_answer_400_naming_the_field(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    runtime: Runtime,
    method: str,
    path: str,
    body: dict[str, Any],
    field: str,
) -> None:
    await make_dataset(client, auth)
    before = _counts(runtime)
    for value in [*BIG_IDS, str(2**31), "1" * 30, "0" * 40 + "9" * 20, 0]:
        r = await _send(client, auth, method, path, {**body, field: value})
        assert r.status_code == 400, (value, r.text)
        message = error_of(r)
        assert message.startswith(f"{field}:"), message
    assert _counts(runtime) == before


async def test_tailored_model_id_is_parsed_once_in_all_its_forms(
    client: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime, token: str
) -> None:
    model_id = add_model(runtime, token, b"not read: no worker runs here")
    for value in [str(model_id), f"  {model_id} ", f"000{model_id}", model_id]:
        body = {"tailored_model_id": value, "prompt": "a cat"}
        r = await client.post("/v2/image/generate/tailored", json=body, headers=auth)
        assert r.status_code == 202, (value, r.text)
    for value in ["1.5", "one", "", "١", True, [1]]:
        body = {"tailored_model_id": value, "prompt": "a cat"}
        r = await client.post("/v2/image/generate/tailored", json=body, headers=auth)
        assert r.status_code == 400, (value, r.text)
        assert error_of(r).startswith("tailored_model_id:")


# --- JSON nesting -------------------------------------------------------------------------------

DEEP_BODIES = [
    ("POST", f"{API}/projects"),
    ("PUT", f"{API}/projects/1"),
    ("POST", f"{API}/datasets/1/images"),  # reads its JSON body itself
    ("POST", f"{API}/datasets/1/images/bulk-upload"),
    ("POST", f"{API}/models/1/start_training"),
    ("POST", "/v2/image/generate"),
]


@pytest.mark.parametrize(("method", "path"), DEEP_BODIES)
async def test_deeply_nested_json_is_refused_before_parsing(
    client: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime, method: str, path: str
) -> None:
    await make_dataset(client, auth)
    before = _counts(runtime)
    headers = {**auth, "content-type": "application/json"}
    for body in (DEEP, '{"project_name": ' + DEEP + "}", "[" * 100_000):
        r = await client.request(method, path, content=body, headers=headers)
        assert r.status_code == 400, r.text
        assert "nested deeper than 64 levels" in error_of(r)
    assert _counts(runtime) == before


async def test_nesting_limit_is_64_levels(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    body: dict[str, Any] = {"project_name": "p", "ip_medium": "illustration", "ip_type": "other"}
    for levels, status in ((63, 201), (64, 400)):  # the body object itself is the first level
        r = await _send(
            client,
            auth,
            "POST",
            f"{API}/projects",
            {**body, "extra": json.loads("[" * levels + "]" * levels)},
        )
        assert r.status_code == status, (levels, r.text)
    assert error_of(r) == "extra: JSON must not be nested deeper than 64 levels"


# --- text no database can store -----------------------------------------------------------------


async def test_nul_in_a_name_is_refused(
    client: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime
) -> None:
    body = {"project_name": "Lo\u0000ra", "ip_medium": "illustration", "ip_type": "other"}
    r = await _send(client, auth, "POST", f"{API}/projects", body)
    assert r.status_code == 400
    assert error_of(r) == "project_name: must not contain NUL characters (\\u0000)"
    assert _count(runtime, Project) == 0


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("PUT", f"{API}/projects/1", {"project_description": "a\u0000"}, "project_description"),
        ("PUT", f"{API}/datasets/1", {"name": "\u0000"}, "name"),
        ("POST", f"{API}/datasets/1/images", {"image_url": "https://example.com/\u0000.png"}, "image_url"),
        ("POST", "/v2/image/generate", {"prompt": "a cat", "images": ["\u0000"]}, "images.0"),
        ("PUT", f"{API}/projects/1", {"project_name": "p", "x\u0000": 1}, "body"),
        ("PUT", f"{API}/projects/1", {"project_name": "\ud800"}, "project_name"),
        ("POST", f"{API}/models", {"name": "m\udfff", "dataset_id": 1}, "name"),
    ],
)
async def test_unstorable_text_anywhere_in_a_json_body_is_refused(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    runtime: Runtime,
    method: str,
    path: str,
    body: dict[str, Any],
    field: str,
) -> None:
    await make_dataset(client, auth)
    before = _counts(runtime)
    r = await _send(client, auth, method, path, body)
    assert r.status_code == 400, r.text
    message = error_of(r)
    assert message.startswith(f"{field}:"), message
    assert "NUL" in message or "surrogates" in message
    assert _counts(runtime) == before
    r = await client.get(f"{API}/projects/1", headers=auth)
    assert r.json()["project_name"] == "Icons" and r.json()["project_description"] is None


async def test_nan_and_infinity_are_not_json(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    for raw in ('{"learning_rate": NaN}', '{"learning_rate": -Infinity}'):
        r = await client.post(
            f"{API}/models/1/start_training",
            content=raw,
            headers={**auth, "content-type": "application/json"},
        )
        assert r.status_code == 400
        assert "NaN and Infinity" in error_of(r)


async def test_nul_in_a_form_field_or_file_name_is_refused(
    client: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime
) -> None:
    dataset = await make_dataset(client, auth)
    image = image_bytes((256, 256), fmt="PNG")
    r = await upload(client, auth, dataset["id"], image, image_name="a\x00b.png")
    assert r.status_code == 400
    assert error_of(r) == "image_name: must not contain NUL characters (\\u0000)"
    part = (
        b'--tailor-test-boundary\r\nContent-Disposition: form-data; name="file"; filename="a\x00b.png"\r\n'
        b"Content-Type: image/png\r\n\r\n" + image + b"\r\n--tailor-test-boundary--\r\n"
    )
    headers = {**auth, "content-type": "multipart/form-data; boundary=tailor-test-boundary"}
    r = await client.post(f"{API}/datasets/{dataset['id']}/images", content=part, headers=headers)
    assert r.status_code == 400
    assert error_of(r).startswith("file (file name): must not contain NUL")
    assert _count(runtime, Image) == 0 and blob_keys(runtime) == set()
    r = await upload(client, auth, dataset["id"], image, image_name="fine.png")
    assert r.status_code == 201 and r.json()["image_name"] == "fine.png"


async def test_nul_in_the_path_or_a_query_parameter_is_refused(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    r = await client.get("/v2/status/abc%00def", headers=auth)
    assert r.status_code == 400
    assert error_of(r).startswith("path: must not contain NUL")
    r = await client.get(f"{API}/models?include_training_parameters=%00", headers=auth)
    assert r.status_code == 400
    assert error_of(r).startswith("include_training_parameters: must not contain NUL")


# --- signed file links --------------------------------------------------------------------------


async def test_malformed_signed_links_answer_400_never_500(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    dataset = await make_dataset(client, auth)
    r = await upload(client, auth, dataset["id"], image_bytes((256, 256), fmt="PNG"))
    link = urlsplit(r.json()["image_url"])
    exp, sig = parse_qs(link.query)["exp"][0], parse_qs(link.query)["sig"][0]
    tok = "".join(f"&tok={t}" for t in parse_qs(link.query).get("tok", []))
    assert (await client.get(f"{link.path}?exp={exp}{tok}&sig={sig}")).status_code == 200
    for query, name in [
        (f"exp={exp}&sig={'é' * len(sig)}", "sig"),
        (f"exp={exp}&sig=%F0%9F%94%91", "sig"),
        (f"exp={exp}&sig=", "sig"),
        (f"exp={10**30}&sig={sig}", "exp"),
        (f"exp={'9' * 5000}&sig={sig}", "exp"),
        (f"exp=soon&sig={sig}", "exp"),
        (f"sig={sig}", "exp"),
    ]:
        r = await client.get(f"{link.path}?{query}")
        assert r.status_code == 400, (query, r.text)
        assert error_of(r).startswith(f"{name}:")
    wrong = ("A" if sig[0] != "A" else "B") + sig[1:]
    r = await client.get(f"{link.path}?exp={exp}{tok}&sig={wrong}")
    assert r.status_code == 401
    r = await client.get(f"{link.path}?exp={int(exp) + 3600}{tok}&sig={sig}")
    assert r.status_code == 401
    r = await client.get(f"{link.path}?exp={exp}&tok=99999999999&sig={sig}")
    assert r.status_code == 400 and error_of(r).startswith("tok:")


# --- null on update -----------------------------------------------------------------------------

NULL_UPDATES = [
    (f"{API}/projects/1", "project_name"),
    (f"{API}/datasets/1", "name"),
    (f"{API}/datasets/1", "status"),
    (f"{API}/datasets/1/images/1", "caption"),
    (f"{API}/datasets/1/images/1", "regenerate_caption"),
    (f"{API}/models/1", "name"),
    (f"{API}/models/1", "description"),
    (f"{API}/models/1", "active_model_version"),
]


@pytest.mark.parametrize(("path", "field"), NULL_UPDATES)
async def test_null_for_a_field_that_cannot_be_null_answers_400(
    client: httpx.AsyncClient, auth: dict[str, str], path: str, field: str
) -> None:
    dataset = await make_dataset(client, auth)
    r = await client.put(path, json={field: None}, headers=auth)
    assert r.status_code == 400, r.text
    assert error_of(r) == f"{field}: must not be null"
    assert (await client.get(f"{API}/projects/1", headers=auth)).json()["project_name"] == "Icons"
    assert (await client.get(f"{API}/datasets/1", headers=auth)).json()["name"] == dataset["name"]


async def test_null_still_clears_the_fields_that_may_be_empty(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    project = await make_project(client, auth, project_description="about", ip_type="other")
    r = await client.put(f"{API}/projects/{project['id']}", json={"project_description": None}, headers=auth)
    assert r.status_code == 200 and r.json()["project_description"] is None
    schema = json.dumps({"style_medium": "flat illustration"})
    dataset = await make_dataset(client, auth, project_id=project["id"])
    r = await client.put(f"{API}/datasets/{dataset['id']}", json={"visual_schema": schema}, headers=auth)
    assert r.status_code == 200 and r.json()["visual_schema"]
    r = await client.put(f"{API}/datasets/{dataset['id']}", json={"visual_schema": None}, headers=auth)
    assert r.status_code == 200 and r.json()["visual_schema"] is None


async def test_the_document_says_which_update_fields_take_null(client: httpx.AsyncClient) -> None:
    schemas = (await client.get("/openapi.json")).json()["components"]["schemas"]
    project = schemas["ProjectUpdate"]["properties"]
    assert project["project_name"]["type"] == "string" and "default" not in project["project_name"]
    assert {"type": "null"} in project["ip_name"]["anyOf"]
    assert {"type": "null"} not in schemas["ModelUpdate"]["properties"]["active_model_version"]["anyOf"]


# --- unexpected errors --------------------------------------------------------------------------


def _break_projects_table(rt: Runtime) -> None:
    """A fault no request can cause: the projects table goes missing under the running app."""
    with rt.engine.begin() as conn:
        conn.execute(text("ALTER TABLE projects RENAME TO projects_gone"))


async def test_an_unexpected_error_answers_500_in_the_error_shape(
    client: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime
) -> None:
    _break_projects_table(runtime)
    r = await client.get(f"{API}/projects", headers=auth)
    assert r.status_code == 500
    assert r.json() == {
        "error": {"code": 500, "message": "internal server error", "details": ""},
        "request_id": r.headers["x-request-id"],
    }


def test_an_unexpected_error_keeps_the_connection_open(
    live_server: str, token: str, runtime: Runtime
) -> None:
    _break_projects_table(runtime)
    url = urlsplit(live_server)
    conn = http.client.HTTPConnection(url.hostname or "", url.port, timeout=10)
    try:
        conn.request("GET", f"{API}/projects", headers={"api_token": token})
        r = conn.getresponse()
        body = json.loads(r.read())
        assert r.status == 500 and body["error"]["code"] == 500
        assert (r.getheader("connection") or "").lower() != "close"
        sock = conn.sock
        conn.request("GET", "/health")  # on the same connection
        r = conn.getresponse()
        assert r.status == 200 and json.loads(r.read())["status"] == "ok"
        assert conn.sock is sock
    finally:
        conn.close()


# --- further cases found while fixing these -------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "field"),
    [
        ("PUT", f"{API}/datasets/1", "visual_schema"),
        ("PUT", f"{API}/datasets/1/images/1", "caption"),
        ("POST", "/v2/image/generate", "structured_prompt"),
        ("POST", f"{API}/refine_structured_prompt", "structured_prompt"),
    ],
)
async def test_deeply_nested_json_inside_a_structured_prompt_string_is_a_400(
    client: httpx.AsyncClient, auth: dict[str, str], method: str, path: str, field: str
) -> None:
    dataset = await make_dataset(client, auth)
    r = await upload(client, auth, dataset["id"], image_bytes((256, 256), fmt="PNG"))
    assert r.status_code == 201
    body = {field: DEEP_TEXT, "prompt": "a cat", "dataset_id": 1, "instruction": "brighter"}
    r = await client.request(method, path, json=body, headers=auth)
    assert r.status_code == 400, r.text
    assert error_of(r) == f"{field} is not a valid structured prompt: nested too deeply"


async def test_a_malformed_webhook_url_is_a_400(
    client: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime
) -> None:
    for url in ("http://[", "http://[::ffff:zz]/hook", "http://example.com:99999999/hook"):
        r = await client.post(
            "/v2/image/generate", json={"prompt": "a cat", "webhook_url": url}, headers=auth
        )
        assert r.status_code == 400, (url, r.text)
        assert error_of(r).startswith("webhook_url:")
    assert _count(runtime, Job) == 0


async def test_cloning_a_dataset_with_a_long_name_keeps_the_copy_within_the_limit(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    project = await make_project(client, auth)
    body = {"project_id": project["id"], "name": "n" * 500}
    dataset = (await client.post(f"{API}/datasets", json=body, headers=auth)).json()
    r = await client.post(f"{API}/datasets/{dataset['id']}/clone", json={}, headers=auth)
    assert r.status_code == 201, r.text
    assert r.json()["name"] == ("Copy of " + "n" * 500)[:500]


async def test_a_host_header_too_long_for_links_is_a_400(
    client: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime
) -> None:
    headers = {**auth, "host": "h" * 600}
    r = await client.post("/v2/image/generate", json={"prompt": "a cat"}, headers=headers)
    assert r.status_code == 400
    assert error_of(r).startswith("Host header")  # refused before any link could be built
    assert _count(runtime, Job) == 0
    r = await client.post("/v2/image/generate", json={"prompt": "a cat"}, headers=auth)
    assert r.status_code == 202
