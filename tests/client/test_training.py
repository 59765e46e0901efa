"""The whole path with the sync SDK on a live server: dataset, schema, training on the tiny model,
checkpoints, download and tailored generation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tailor.client import (
    BadRequestError,
    GenerationResult,
    Model,
    PreconditionFailedError,
    Tailor,
)
from tests.client.support import needs, write_pngs

M = "/v1/tailored-gen/models"
pytestmark = [
    needs("POST", f"{M}/{{model_id}}/start_training"),
    needs("POST", "/v2/image/generate/tailored"),
    pytest.mark.slow,
]


def _completed_dataset(t: Tailor, tmp_path: Path) -> tuple[int, int]:
    p = t.projects.create("Shapes", ip_medium="illustration", ip_type="stylized_scene")
    d = t.datasets.create(p.id, "shapes")
    files = write_pngs(tmp_path / "imgs", 5)
    schema = t.datasets.generate_visual_schema(files)
    t.datasets.set_visual_schema(d.id, schema)
    results = t.images.upload_many(d.id, files)
    assert all(r.image for r in results), [r.error for r in results]
    t.datasets.wait_for_captions(d.id, timeout=120, interval=0.3)
    assert t.datasets.complete(d.id).status == "completed"
    return p.id, d.id


def test_train_then_generate_tailored(live: Tailor, tmp_path: Path) -> None:
    project_id, dataset_id = _completed_dataset(live, tmp_path)
    model = live.models.create("shapes v1", dataset_id, training_mode="expert")
    assert model.status == "Created" and model.project_id == project_id

    with pytest.raises(BadRequestError) as e:
        live.models.start_training(model.id, rank=2)
    assert "rank" in e.value.message
    with pytest.raises(BadRequestError) as e:
        live.models.training_estimate(model.id, rank=2)
    assert "rank" in e.value.message

    params = {"rank": 4, "total_training_steps": 2, "checkpoint_interval": 100, "learning_rate": 1e-4}
    est = live.models.training_estimate(model.id, **params)
    assert est.total_steps == 2 and est.basis.source in ("default", "measured") and est.basis.description
    started = live.models.start_training(model.id, **params)
    assert started.status in ("InProgress", "Completed")

    seen: list[Model] = []
    done = live.wait_for_training(model.id, timeout=600, interval=0.5, on_progress=seen.append)
    assert done.status == "Completed", done
    assert seen and seen[-1].status == "Completed"
    tp = done.training_progress
    assert tp is not None and tp.elapsed_seconds and len(tp.lr_schedule) == 2 and tp.sample_seed == 1234

    checkpoints = live.models.checkpoints(model.id)
    steps = [c.checkpoint_step for c in checkpoints.checkpoints]
    if steps:
        one = live.models.checkpoint(model.id, steps[0])
        assert one.checkpoint_step == steps[0]
        chosen = live.models.set_active_version(model.id, steps[0])
        assert str(chosen.active_model_version) == str(steps[0])

    download = live.models.download(model.id)
    assert download.download_url and live.fetch(download.download_url)

    result = live.generate("a shape on a plain background", model_id=model.id, seed=4, influence=0.8)
    assert isinstance(result, GenerationResult) and result.image_url
    assert live.fetch(result.image_url)[:8] == b"\x89PNG\r\n\x1a\n"
    sp = live.generate_structured_prompt("a shape", model_id=model.id, seed=4)
    assert isinstance(sp, GenerationResult) and json.loads(sp.structured_prompt or "")


def test_training_needs_a_completed_dataset(live: Tailor) -> None:
    p = live.projects.create("Draft", ip_medium="photography", ip_type="other")
    d = live.datasets.create(p.id, "draft")
    m = live.models.create("m", d.id)
    with pytest.raises(PreconditionFailedError) as e:
        live.models.start_training(m.id)
    assert e.value.status == 412 and e.value.message


@needs("GET", f"{M}/{{model_id}}/events")
def test_training_events_stream(live: Tailor, tmp_path: Path) -> None:
    _, dataset_id = _completed_dataset(live, tmp_path)
    model = live.models.create("events", dataset_id)
    live.models.start_training(model.id)
    events = list(live.models.events(model.id))  # the stream ends when training is over
    assert events and events[-1].event == "training"
    last = events[-1].data
    assert last["status"] == "Completed" and last["id"] == model.id
    progress = last["training_progress"]
    assert progress["step"] == progress["total_steps"] and progress["loss_history"]
    assert [p[0] for p in progress["loss_history"]] == sorted({p[0] for p in progress["loss_history"]})
    assert live.wait_for_training(model.id, timeout=600).status == "Completed"
