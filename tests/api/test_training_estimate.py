"""``GET /v1/tailored-gen/models/{id}/training_estimate``: the duration, steps and checkpoint disk
of a run before it starts, from this installation's measured runs or a stated benchmark figure.

The measured runs here are progress records as the trainer writes them (``run``: what
``tests/engine/training/test_training_job.py`` checks a real run records)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tailor.bootstrap import Runtime
from tailor.config import Settings
from tailor.services.training_estimate import DEFAULTS
from tailor.store.db import session_scope
from tailor.store.models import add_model
from tailor.store.tables import Dataset
from tests.conftest import make_settings, new_token
from tests.engine.training.helpers import seed_dataset

BASE = "/v1/tailored-gen"
MB = 1_000_000


@pytest.fixture
def settings(tmp_path: Path, db_url: str, request: pytest.FixtureRequest) -> Settings:
    """The test settings, on FIBO's real weights unless a test asks for others (no weights load here)."""
    return make_settings(tmp_path / "home", db_url, base_model=getattr(request, "param", "briaai/FIBO"))


async def _model(client: httpx.AsyncClient, auth: dict, dataset_id: int, mode: str = "expert") -> int:
    body = {"name": "Reds", "dataset_id": dataset_id, "training_mode": mode}
    r = await client.post(f"{BASE}/models", json=body, headers=auth)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def _past_run(rt: Runtime, dataset_id: int, weights: str, **run: Any) -> None:
    """A model of this installation that trained, with the measurements its run recorded."""
    facts = {"family": "fibo", "weights": weights, "device": "cuda (NVIDIA H100 80GB HBM3)", "rank": 128}
    facts |= {"grad_accumulation": 4, "images": 20} | run
    with session_scope(rt.sessions) as s:
        ds = s.get(Dataset, dataset_id)
        assert ds is not None
        add_model(
            s, organization_id=ds.organization_id, project_id=ds.project_id, dataset_id=ds.id, name="past",
            status="Completed", training_version="fibo",
            training_progress={"step": 750, "total_steps": 750, "run": facts},
        )  # fmt: skip


async def test_default_basis_without_past_runs(
    client: httpx.AsyncClient, auth: dict, runtime: Runtime, token: str
) -> None:
    seeded = seed_dataset(runtime, token)
    mid = await _model(client, auth, seeded.dataset_id)
    q = {"total_training_steps": 1000, "checkpoint_interval": 250, "rank": 64}
    r = await client.get(f"{BASE}/models/{mid}/training_estimate", params=q, headers=auth)
    assert r.status_code == 200, r.text
    est = r.json()
    assert est["basis"]["source"] == "default" and est["basis"]["runs"] == 0
    assert "not yet measured" in est["basis"]["description"]  # FIBO's stated target, labelled as such
    assert est["total_steps"] == 1000 and est["checkpoint_steps"] == [250, 500, 750, 1000]
    assert est["seconds_per_step"] == DEFAULTS["fibo"].seconds_per_step  # 4 images per step, as measured
    assert est["estimated_seconds"] == pytest.approx(1000 * 2.4)
    adapter = DEFAULTS["fibo"].lora_params_per_rank * 64 * 2  # type: ignore[operator]
    assert est["checkpoint_bytes"] == adapter
    assert est["disk_bytes"] == 4 * adapter + adapter * 6 + 2 * adapter  # adapters, one state, final + zip
    assert est["training_parameters"]["rank"] == 64 and est["training_parameters"]["lr_warmup_steps"] == 100

    # a fully automated model: the recipe a start would choose, and no expert parameters accepted
    auto = await _model(client, auth, seeded.dataset_id, mode="fully_automated")
    r = await client.get(f"{BASE}/models/{auto}/training_estimate", headers=auth)
    assert r.status_code == 200 and r.json()["training_parameters"]["total_training_steps"] >= 500
    r = await client.get(f"{BASE}/models/{auto}/training_estimate", params={"rank": 8}, headers=auth)
    assert r.status_code == 400 and "expert" in r.json()["error"]["message"]


@pytest.mark.parametrize("settings", ["tiny"], indirect=True)
async def test_default_basis_of_the_tiny_model(
    client: httpx.AsyncClient, auth: dict, runtime: Runtime, token: str
) -> None:
    seeded = seed_dataset(runtime, token)
    mid = await _model(client, auth, seeded.dataset_id)
    est = (
        await client.get(f"{BASE}/models/{mid}/training_estimate", params={"rank": 8}, headers=auth)
    ).json()
    assert est["basis"]["source"] == "default" and "tiny development model" in est["basis"]["description"]
    assert est["overrides"] == []
    # the figure is of one image per step; this installation takes four
    assert est["seconds_per_step"] == pytest.approx(DEFAULTS["tiny"].seconds_per_step * 4)
    assert est["disk_bytes"] is None  # no file size until a run measures one


async def test_measured_runs_are_the_basis(
    client: httpx.AsyncClient, auth: dict, runtime: Runtime, token: str
) -> None:
    seeded = seed_dataset(runtime, token)
    weights = runtime.settings.base_model
    sizes = {"adapter_bytes": 900 * MB, "state_bytes": 5400 * MB, "sample_bytes": 2 * MB}
    for sps in (3.0, 4.0, 5.0):  # median 4.0
        _past_run(runtime, seeded.dataset_id, weights, seconds_per_step=sps, setup_seconds=60.0,
                  checkpoint_seconds=10.0, **sizes)  # fmt: skip
    _past_run(runtime, seeded.dataset_id, weights, rank=16, seconds_per_step=1.0)  # another rank: not taken
    _past_run(runtime, seeded.dataset_id, "elsewhere/weights", seconds_per_step=99.0)  # other weights
    mid = await _model(client, auth, seeded.dataset_id)
    q = {"total_training_steps": 1000, "checkpoint_interval": 500, "rank": 128}
    est = (await client.get(f"{BASE}/models/{mid}/training_estimate", params=q, headers=auth)).json()
    basis = est["basis"]
    assert basis["source"] == "measured" and basis["runs"] == 3 and basis["ranks"] == [128]
    assert (
        basis["device"] == "cuda (NVIDIA H100 80GB HBM3)"
        and "median of the 3 latest runs" in basis["description"]
    )
    assert est["seconds_per_step"] == 4.0 and est["setup_seconds"] == 60.0
    assert est["estimated_seconds"] == pytest.approx(1000 * 4.0 + 60 + 2 * 10)
    assert est["checkpoint_bytes"] == 902 * MB
    assert est["disk_bytes"] == 2 * 902 * MB + 5400 * MB + 2 * 900 * MB

    # at a rank no run trained: the nearest rank's runs, file sizes scaled by the rank
    est = (
        await client.get(f"{BASE}/models/{mid}/training_estimate", params={**q, "rank": 96}, headers=auth)
    ).json()
    assert est["basis"]["ranks"] == [128] and "scaled to rank 96" in est["basis"]["description"]
    assert est["checkpoint_bytes"] == 675 * MB + 2 * MB

    # another organization's runs count too (they measure the workers), its models do not answer
    other = new_token(runtime, "globex")
    r = await client.get(f"{BASE}/models/{mid}/training_estimate", headers={"api_token": other})
    assert r.status_code == 404


BAD = [
    ({"rank": 2}, "rank"),
    ({"rank": "many"}, "rank"),
    ({"learning_rate": 0.5}, "learning_rate"),
    ({"lr_scheduler": "sawtooth"}, "lr_scheduler"),
    ({"total_training_steps": 0}, "total_training_steps"),
    ({"checkpoint_interval": 10}, "checkpoint_interval"),
    ({"total_training_steps": 50, "lr_warmup_steps": 50}, "lr_warmup_steps"),
]


async def test_bad_parameters_name_the_field(
    client: httpx.AsyncClient, auth: dict, runtime: Runtime, token: str
) -> None:
    seeded = seed_dataset(runtime, token)
    mid = await _model(client, auth, seeded.dataset_id)
    for query, field in BAD:
        r = await client.get(f"{BASE}/models/{mid}/training_estimate", params=query, headers=auth)
        assert r.status_code == 400, (query, r.text)
        assert field in r.json()["error"]["message"], (query, r.text)


async def test_unknown_and_uploaded_models(
    client: httpx.AsyncClient, auth: dict, runtime: Runtime, token: str
) -> None:
    r = await client.get(f"{BASE}/models/424242/training_estimate", headers=auth)
    assert r.status_code == 404
    seeded = seed_dataset(runtime, token)
    with session_scope(runtime.sessions) as s:
        ds = s.get(Dataset, seeded.dataset_id)
        assert ds is not None
        uploaded = add_model(
            s, organization_id=ds.organization_id, project_id=ds.project_id, dataset_id=None, name="up",
            status="Completed",
        ).id  # fmt: skip
    r = await client.get(f"{BASE}/models/{uploaded}/training_estimate", headers=auth)
    assert r.status_code == 409 and "uploaded" in r.json()["error"]["message"]
