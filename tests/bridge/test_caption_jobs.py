"""The ``caption_image`` job through the real queue: captions stored, batching, failures recorded."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from tailor.bootstrap import Runtime, build_runtime
from tailor.bridge.prompts import validate_structured_prompt
from tailor.config import Settings
from tailor.store.tables import Dataset, Image, Job
from tailor.worker.run import run_pending

from .fake_vlm import FakeVlm, Reply, serve
from .images import make_image, sample_set
from .records import add_images, make_dataset, org_id

SCHEMA = json.dumps(
    {"style_medium": "flat vector illustration", "objects": [{"description": "Lucy, a red robot"}]}
)


def _images(rt: Runtime, dataset_id: int) -> list[Image]:
    with rt.sessions() as s:
        return list(s.scalars(select(Image).where(Image.dataset_id == dataset_id).order_by(Image.id)))


def _dataset(rt: Runtime, dataset_id: int) -> Dataset:
    with rt.sessions() as s:
        ds = s.get(Dataset, dataset_id)
        assert ds is not None
        return ds


def _jobs(rt: Runtime) -> list[Job]:
    with rt.sessions() as s:
        return list(s.scalars(select(Job).order_by(Job.id)))


def test_captions_follow_the_schema_and_finish_the_dataset(runtime: Runtime) -> None:
    org = org_id(runtime)
    ds = make_dataset(runtime, org, visual_schema=SCHEMA)
    add_images(runtime, org, ds, sample_set(3) + [make_image((250, 250, 250), (30, 160, 30), at=(0.8, 0.2))])
    run_pending(runtime.queue, runtime.job_context())
    images = _images(runtime, ds)
    for im in images:
        assert im.caption_source == "automatic" and im.caption_error is None
        cap = json.loads(validate_structured_prompt(im.caption or "", field="caption"))
        assert cap["style_medium"] == "flat vector illustration"
        assert cap["objects"][0]["description"] == "Lucy, a red robot"
    assert json.loads(images[3].caption or "")["objects"][0]["location"] == "top-right"
    assert _dataset(runtime, ds).captions_update_status == "completed"
    assert all(j.state == "completed" for j in _jobs(runtime))


def test_one_job_captions_its_queued_siblings(runtime: Runtime) -> None:
    org = org_id(runtime)
    ds = make_dataset(runtime, org)
    add_images(runtime, org, ds, sample_set(5))
    assert run_pending(runtime.queue, runtime.job_context(), limit=1) == 1
    assert all(im.caption_source == "automatic" for im in _images(runtime, ds))
    run_pending(runtime.queue, runtime.job_context())
    results = [j.result for j in _jobs(runtime)]
    assert results[0] == {"image_id": results[0]["image_id"], "captioned": 5, "batch": 5}
    assert all(r and r.get("skipped") == "already captioned" for r in results[1:])


def test_a_manual_caption_is_never_overwritten(runtime: Runtime) -> None:
    org = org_id(runtime)
    ds = make_dataset(runtime, org)
    [iid] = add_images(runtime, org, ds, sample_set(1))
    with runtime.sessions() as s, s.begin():
        im = s.get(Image, iid)
        assert im is not None
        im.caption, im.caption_source = '{"manual": true}', "manual"
    run_pending(runtime.queue, runtime.job_context())
    assert _images(runtime, ds)[0].caption == '{"manual": true}'
    assert _dataset(runtime, ds).captions_update_status == "completed"


@pytest.fixture
def outage_runtime(settings: Settings) -> Iterator[tuple[Runtime, FakeVlm]]:
    with serve(FakeVlm(default=lambda _b: Reply(status=503, content="provider down"))) as fake:
        s = settings.model_copy(
            update={
                "vlm": "openai/test-vlm",
                "vlm_base_url": fake.url,
                "vlm_api_key": "k",
                "vlm_max_retries": 1,
                "vlm_retry_backoff_s": 0.01,
                "vlm_timeout_s": 2.0,
                "job_retry_backoff_s": 0.0,
            }
        )
        rt = build_runtime(s, migrate=True)
        yield rt, fake
        rt.close()


def test_provider_outage_is_retried_then_records_the_reason(outage_runtime: tuple[Runtime, FakeVlm]) -> None:
    """An outage is transient for captions as for every kind: retried, then recorded on the image."""
    rt, _fake = outage_runtime
    org = org_id(rt)
    ds = make_dataset(rt, org)
    add_images(rt, org, ds, sample_set(2))
    run_pending(rt.queue, rt.job_context())
    for im in _images(rt, ds):
        assert im.caption is None and im.caption_source == "automatic"
        assert "provider down" in (im.caption_error or "") or "ServiceUnavailable" in (im.caption_error or "")
    jobs = _jobs(rt)
    assert all(j.state == "failed" and j.attempts == rt.settings.job_max_attempts for j in jobs)
    assert all("provider down" in (j.error or "") or "ServiceUnavailable" in (j.error or "") for j in jobs)
    assert _dataset(rt, ds).captions_update_status == "completed"
