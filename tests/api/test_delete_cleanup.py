"""Deleting a dataset or a project removes its models' files (adapters, checkpoints, samples) too."""

from __future__ import annotations

import httpx
import pytest

from tailor.bootstrap import Runtime
from tailor.store.db import session_scope
from tailor.store.models import add_model
from tests.engine.training.helpers import seed_dataset


def _model_with_files(rt: Runtime, org_id: int, project_id: int, dataset_id: int) -> tuple[int, str]:
    with session_scope(rt.sessions) as s:
        m = add_model(
            s,
            organization_id=org_id,
            project_id=project_id,
            dataset_id=dataset_id,
            name="m",
            status="Completed",
        )
        model_id, prefix = m.id, m.blob_prefix
    rt.blobs.put(f"{prefix}checkpoints/100/adapter.safetensors", b"weights")
    return model_id, prefix


@pytest.mark.parametrize("what", ["dataset", "project"])
async def test_delete_removes_model_files(
    what: str, client: httpx.AsyncClient, auth: dict, runtime: Runtime, token: str
) -> None:
    seeded = seed_dataset(runtime, token)
    model_id, prefix = _model_with_files(runtime, seeded.org_id, seeded.project_id, seeded.dataset_id)
    assert list(runtime.blobs.list(prefix))
    if what == "dataset":
        r = await client.delete(f"/v1/tailored-gen/datasets/{seeded.dataset_id}", headers=auth)
    else:
        r = await client.delete(f"/v1/tailored-gen/projects/{seeded.project_id}", headers=auth)
    assert r.status_code == 204, r.text
    assert list(runtime.blobs.list(prefix)) == []
    assert (await client.get(f"/v1/tailored-gen/models/{model_id}", headers=auth)).status_code == 404
