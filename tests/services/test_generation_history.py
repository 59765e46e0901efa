"""The history hook on the queue's real completion path: which finished jobs become entries."""

from __future__ import annotations

from tailor.bootstrap import Runtime
from tailor.domain.jobs import EDIT_IMAGE, GENERATE_IMAGE, EditImage, GenerateImage
from tailor.services.requests import create_request
from tailor.store import generations as store
from tailor.store.db import session_scope
from tailor.store.orgs import Principal
from tailor.store.tables import ApiToken, TailoredModel
from tests.engine.api_helpers import add_model, org_of


def _finish(rt: Runtime, token_id: int, org: int, kind, payload, result) -> str:  # type: ignore[no-untyped-def]
    with session_scope(rt.sessions) as s:
        req = create_request(
            s, Principal(org, token_id), endpoint="/v2/test", kind=kind, payload=payload,
            webhook_url=None, max_active=0,
        )  # fmt: skip
        request_id, job_id = req.request_id, req.job_id
    job = rt.queue.claim("w1")
    assert job is not None and job.id == job_id
    assert rt.queue.complete(job.id, "w1", result)
    return request_id


def test_tailored_generations_and_edits_are_recorded_base_model_ones_are_not(
    runtime: Runtime, token: str
) -> None:
    org = org_of(runtime, token)
    mid = add_model(runtime, token, b"adapter", training_version="fibo-2")
    with runtime.sessions() as s:
        token_id = s.query(ApiToken.id).scalar()
        project = s.get(TailoredModel, mid).project_id  # type: ignore[union-attr]
    made = {"image_key": "generated/1/a.png", "seed": 3, "structured_prompt": "{}", "prompt": "a cat"}
    params = {"aspect_ratio": "1:1", "steps_num": 30, "model_version": 200, "tailored_model_id": str(mid)}
    job = GenerateImage(seed=3, model_id=mid, prompt="a cat")
    tailored = _finish(runtime, token_id, org, GENERATE_IMAGE, job, {**made, "parameters": params})
    base = GenerateImage(seed=3, prompt="a cat")
    _finish(runtime, token_id, org, GENERATE_IMAGE, base, {**made, "image_key": "generated/1/base.png"})
    edit = EditImage(
        seed=4, instruction='{"edit_instruction": "x"}', images=["k"], family="fibo-2",
        steps_num=30, guidance_scale=5.0, model_id=mid, influence=0.8,
    )  # fmt: skip
    result = {"image_key": "generated/1/e.png", "seed": 4, "structured_prompt": edit.instruction}
    edited = _finish(runtime, token_id, org, EDIT_IMAGE, edit, result)
    with runtime.sessions() as s:
        rows, total = store.list_page(s, org, project, offset=0, limit=10)
    assert total == 2
    assert [r.request_id for r in rows] == [edited, tailored]
    assert rows[1].model_version == "200" and rows[1].parameters == params and rows[1].prompt == "a cat"
    assert rows[0].parameters["edit"] is True and rows[0].parameters["tailored_model_influence"] == 0.8
    assert rows[0].token_id == token_id and rows[0].structured_prompt == edit.instruction
