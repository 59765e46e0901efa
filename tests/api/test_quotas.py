"""Per-organization quotas of active jobs (v2 requests, trainings) on SQLite and PostgreSQL: 429 with
Retry-After past the quota, nothing created, and exactly the quota admitted under concurrency."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tailor.api.app import create_app
from tailor.bootstrap import Runtime, build_runtime
from tailor.domain.errors import RateLimited
from tailor.domain.jobs import STRUCTURED_PROMPT, StructuredPrompt
from tailor.services import models as model_service
from tailor.services.requests import create_request
from tailor.store import orgs
from tailor.store.tables import GenerationRequest, Job, TailoredModel
from tests.conftest import make_settings, new_token
from tests.engine.training.helpers import seed_dataset

SP = "/v2/structured_prompt/generate"
MODELS = "/v1/tailored-gen/models"


@pytest.fixture
def rt(tmp_path: Path, db_url: str) -> Iterator[Runtime]:
    settings = make_settings(tmp_path / "home", db_url, org_max_active_jobs=2, org_max_active_trainings=1)
    runtime = build_runtime(settings, migrate=True)
    yield runtime
    runtime.close()


@pytest.fixture
async def client(rt: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(rt.settings, rt))
    async with httpx.AsyncClient(transport=transport, base_url="http://tailor.test") as c:
        yield c


def count(rt: Runtime, what: object, *where: object) -> int:
    with rt.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(what).where(*where)) or 0)  # type: ignore[arg-type]


def quota_error(r: httpx.Response, setting: str) -> None:
    assert r.status_code == 429, r.text
    body = r.json()
    assert set(body) == {"error", "request_id"} and body["error"]["code"] == 429
    assert setting in body["error"]["message"], body
    assert int(r.headers["retry-after"]) >= 1


async def test_v2_requests_past_the_quota_answer_429_and_create_nothing(
    client: httpx.AsyncClient, rt: Runtime
) -> None:
    auth = {"api_token": new_token(rt, "acme")}
    ids = []
    for _ in range(2):
        r = await client.post(SP, json={"prompt": "a red fox"}, headers=auth)
        assert r.status_code == 202, r.text
        ids.append(r.json()["request_id"])
    r = await client.post(SP, json={"prompt": "a red fox"}, headers=auth)
    quota_error(r, "TAILOR_ORG_MAX_ACTIVE_JOBS=2")
    assert "2 v2 requests queued or running" in r.json()["error"]["message"]
    assert count(rt, GenerationRequest) == 2 and count(rt, Job) == 2
    # another organization has its own quota
    other = {"api_token": new_token(rt, "globex")}
    assert (await client.post(SP, json={"prompt": "a red fox"}, headers=other)).status_code == 202
    # a finished (here: cancelled) request frees its slot
    with rt.sessions() as s:
        job_id = s.scalar(select(GenerationRequest.job_id).where(GenerationRequest.request_id == ids[0]))
    assert rt.queue.cancel(int(job_id or 0)) == "cancelled"
    assert (await client.post(SP, json={"prompt": "a red fox"}, headers=auth)).status_code == 202


async def test_trainings_past_the_quota_answer_429_and_start_nothing(
    client: httpx.AsyncClient, rt: Runtime
) -> None:
    token = new_token(rt, "acme")
    auth = {"api_token": token}
    seeded = seed_dataset(rt, token)
    ids = []
    for name in ("one", "two"):
        r = await client.post(MODELS, json={"name": name, "dataset_id": seeded.dataset_id}, headers=auth)
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    r = await client.post(f"{MODELS}/{ids[0]}/start_training", headers=auth)
    assert r.status_code == 200 and r.json()["status"] == "InProgress"
    r = await client.post(f"{MODELS}/{ids[1]}/start_training", headers=auth)
    quota_error(r, "TAILOR_ORG_MAX_ACTIVE_TRAININGS=1")
    assert (await client.get(f"{MODELS}/{ids[1]}", headers=auth)).json()["status"] == "Created"
    assert count(rt, Job, Job.kind == "train_model") == 1
    # stopping the first (its job had not started: it ends at once) frees the slot
    r = await client.post(f"{MODELS}/{ids[0]}/stop_training", headers=auth)
    assert r.status_code == 200 and r.json()["status"] == "Stopped"
    r = await client.post(f"{MODELS}/{ids[1]}/start_training", headers=auth)
    assert r.status_code == 200 and r.json()["status"] == "InProgress"


async def test_concurrent_requests_admit_exactly_the_quota(client: httpx.AsyncClient, rt: Runtime) -> None:
    auth = {"api_token": new_token(rt, "acme")}
    answers = await asyncio.gather(
        *(client.post(SP, json={"prompt": f"fox {i}"}, headers=auth) for i in range(8))
    )
    assert sorted(r.status_code for r in answers) == [202, 202] + [429] * 6
    assert count(rt, GenerationRequest) == 2 and count(rt, Job) == 2


def _request(rt: Runtime, s: Session, token: str) -> object:
    principal = orgs.authenticate(s, token)
    assert principal is not None
    return create_request(
        s,
        principal,
        endpoint=SP,
        kind=STRUCTURED_PROMPT,
        payload=StructuredPrompt(seed=1, prompt="a race"),
        webhook_url=None,
        max_active=rt.settings.org_max_active_jobs,
    )


def _training(rt: Runtime, model_ids: list[int]) -> Callable[[Runtime, Session, str], object]:
    def start(rt: Runtime, s: Session, token: str) -> object:
        principal = orgs.authenticate(s, token)
        assert principal is not None
        return model_service.start_training(
            s,
            principal.organization_id,
            model_ids.pop(),
            None,
            max_active=rt.settings.org_max_active_trainings,
        )

    return start


@pytest.mark.parametrize("what", ["requests", "trainings"])
def test_two_creators_racing_for_the_last_slot(rt: Runtime, what: str) -> None:
    """A takes the last slot and holds its transaction open; B, checking meanwhile, must wait for
    A's commit and then be refused. Without the lock B would count before A commits and pass too."""
    token = new_token(rt, "acme")
    if what == "requests":
        create: Callable[[Runtime, Session, str], object] = _request
        with rt.sessions() as s:  # one slot of two taken already
            _request(rt, s, token)
            s.commit()
        active = lambda: count(rt, GenerationRequest)  # noqa: E731
    else:
        seeded = seed_dataset(rt, token)
        model_ids = []
        with rt.sessions() as s:
            for name in ("a", "b"):
                m = model_service.create_model(s, seeded.org_id, name=name, dataset_id=seeded.dataset_id)
                model_ids.append(m.id)
            s.commit()
        create = _training(rt, model_ids)
        active = lambda: count(rt, TailoredModel, TailoredModel.status == "InProgress")  # noqa: E731

    a_inserted = threading.Event()
    outcome: dict[str, object] = {}

    def creator_a() -> None:
        with rt.sessions() as s:
            create(rt, s, token)
            a_inserted.set()
            time.sleep(0.5)  # the race window: A's row exists but is not committed
            s.commit()
            outcome["a"] = "created"

    def creator_b() -> None:
        a_inserted.wait(10)
        started = time.monotonic()
        with rt.sessions() as s:
            try:
                create(rt, s, token)
                s.commit()
                outcome["b"] = "created"
            except RateLimited as e:
                s.rollback()
                outcome["b"] = e
            outcome["b_waited"] = time.monotonic() - started

    threads = [threading.Thread(target=creator_a), threading.Thread(target=creator_b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert outcome["a"] == "created"
    assert isinstance(outcome["b"], RateLimited), outcome
    assert float(outcome["b_waited"]) > 0.3  # type: ignore[arg-type]
    assert active() == (2 if what == "requests" else 1)
