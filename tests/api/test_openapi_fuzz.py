"""Every operation of ``/openapi.json``, called with generated inputs, never answers 5xx.

Schemathesis reads the app's own OpenAPI document and, for each operation, generates path and
query parameters, headers and bodies (JSON and multipart) that follow the schema (positive) and
that break it (negative: wrong types, out-of-range numbers, missing fields, odd strings). Each case
is sent in-process to the real app over a real database (SQLite, and PostgreSQL when
``TAILOR_TEST_DATABASE_URL`` is set) with a valid token, so authenticated paths run to the
database and back.

The database starts with projects, draft datasets, an image and a Completed model, and about half
the cases name them in their paths, so that parameters and bodies reach existing records. No
worker runs: routes that queue work answer 202, and ``sync=true`` waits only briefly. Generation is
derandomized and bounded (MAX_EXAMPLES per operation and mode), so the test is deterministic and
takes about a minute per database.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from starlette.testclient import TestClient

from tailor.bootstrap import Runtime
from tailor.config import Settings
from tailor.store.db import session_scope
from tailor.store.tables import Dataset
from tests.conftest import make_settings
from tests.engine.api_helpers import org_of
from tests.engine.lora_helpers import add_completed_model
from tests.services.factory import image_bytes

pytestmark = pytest.mark.slow

MAX_EXAMPLES = 25
SEEDED = (1, 2, 3)  # ids that _seed creates (ids of every kind start at 1)
API = "/v1/tailored-gen"


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    # sync=true requests wait for a worker that never comes: keep the wait short.
    # (Starlette's TestClient calls the app as http://testserver)
    return make_settings(
        tmp_path / "home", db_url, sync_timeout_s=0.05, allowed_hosts="testserver,tailor.test,localhost"
    )


def _adapter() -> bytes:
    """A small LoRA file in diffusers' key layout (enough for the download export to read)."""
    import numpy as np
    from safetensors.numpy import save

    a = np.full((4, 16), 0.01, dtype=np.float32)
    b = np.full((16, 4), 0.01, dtype=np.float32)
    return save(
        {
            "transformer.transformer_blocks.0.attn.to_q.lora_A.weight": a,
            "transformer.transformer_blocks.0.attn.to_q.lora_B.weight": b,
        }
    )


def _seed(app: Any, runtime: Runtime, token: str) -> None:
    """Records behind the smallest ids: project 1 with dataset 1 and a Completed model 1 (with an
    adapter file), project 2 with a basic and an advanced dataset, and image 1 in dataset 1. No
    dataset is completed, so no training can start (a training model's event stream never ends)."""
    auth = {"api_token": token}
    with session_scope(runtime.sessions) as s:
        model = add_completed_model(s, runtime.blobs, org_of(runtime, token), _adapter())
        dataset = s.get(Dataset, model.dataset_id)
        assert dataset is not None
        dataset.status = "draft"
    with TestClient(app) as c:
        r = c.post(
            f"{API}/projects",
            json={"project_name": "p", "ip_medium": "illustration", "ip_type": "other"},
            headers=auth,
        )
        assert r.status_code == 201, r.text
        for upload_type in ("basic", "advanced"):
            body = {"project_id": r.json()["id"], "name": upload_type, "upload_type": upload_type}
            assert c.post(f"{API}/datasets", json=body, headers=auth).status_code == 201
        image = image_bytes((256, 256), fmt="PNG")
        files = {"file": ("a.png", io.BytesIO(image), "image/png")}
        r = c.post(f"{API}/datasets/1/images", files=files, headers=auth)
        assert r.status_code == 201, r.text


DELETE_ORDER = ("images", "checkpoints", "generations", "models", "datasets", "projects")


def _operations(app: Any) -> list[Any]:
    """Every operation of the document; deletions last, innermost resources first, so that the
    seeded records live until every other operation has run against them."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]

    def order(op: Any) -> tuple[int, int]:
        if op.method.upper() != "DELETE":
            return 0, 0
        return 1, DELETE_ORDER.index(op.path.split("/")[-2])

    return sorted(operations, key=order)


def _strategy(operation: Any, mode: GenerationMode) -> Any:
    """Generated cases, and as many again whose path ids name the seeded records (generated ids
    rarely do), so that bodies and parameters also reach existing projects, datasets and models."""
    base = operation.as_strategy(generation_mode=mode)
    ids = [p.name for p in operation.path_parameters if p.name.endswith(("_id", "_step"))]
    if not ids or (mode is GenerationMode.NEGATIVE and not (operation.body or operation.query)):
        return base
    seeded = [
        operation.as_strategy(generation_mode=mode, path_parameters=dict.fromkeys(ids, n)) for n in SEEDED
    ]
    return st.one_of(base, st.one_of(*seeded))


def _fuzz(operation: Any, mode: GenerationMode, token: str) -> None:
    """Call ``operation`` with MAX_EXAMPLES generated cases; AssertionError on a 5xx."""

    @given(case=_strategy(operation, mode))
    @hypothesis_settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def call(case: Any) -> None:
        # Always a valid token: the generated inputs, not authentication, are under test here.
        case.headers = {**(case.headers or {}), "api_token": token}
        try:
            response = case.call()
        except Exception as e:  # an exception that left the app: worse than a 500
            raise AssertionError(f"the app raised {e!r}\n{case.as_curl_command()}") from e
        assert response.status_code < 500, (
            f"{response.status_code}: {response.text[:500]}\n{case.as_curl_command()}"
        )

    call()


def test_no_operation_answers_5xx(app: Any, runtime: Runtime, token: str) -> None:
    _seed(app, runtime, token)
    operations = _operations(app)
    assert len(operations) > 30  # the whole document, not a part of it
    failures = []
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _fuzz(operation, mode, token)
            except Unsatisfiable:
                # An operation without parameters or body has no invalid input to make.
                assert mode is GenerationMode.NEGATIVE, operation.path
            except AssertionError as e:
                failures.append(f"{operation.method.upper()} {operation.path} ({mode.value}): {e}")
    assert not failures, "\n\n".join(failures)
