"""Job kinds: the one retry rule, retry policies, and typed payloads read back from job rows."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tailor.config import Settings
from tailor.domain.errors import InvalidInput, UpstreamUnavailable
from tailor.domain.jobs import (
    ALL_KINDS,
    GENERATE_IMAGE,
    FailureKind,
    GenerateImage,
    JobCancelled,
    PayloadError,
    PermanentJobError,
    RetryPolicy,
    classify,
)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path)  # type: ignore[call-arg]


def test_backoff_doubles_and_is_capped(settings: Settings) -> None:
    policy = RetryPolicy(backoff_s=2.0)
    assert [policy.delay_s(n, settings) for n in (1, 2, 3)] == [2.0, 4.0, 8.0]
    assert policy.delay_s(30, settings) == 300.0
    assert RetryPolicy(backoff_s=0.0).delay_s(3, settings) == 0.0
    jittered = RetryPolicy(backoff_s=10.0, jitter=0.2, max_backoff_s=3600)
    delays = {round(jittered.delay_s(2, settings, random.Random(i)), 3) for i in range(20)}
    assert len(delays) > 1 and all(16.0 <= d <= 24.0 for d in delays)


def test_one_rule_decides_what_is_retried() -> None:
    """An upstream outage is transient for every kind; bad input and missing records are final."""
    assert classify(UpstreamUnavailable("the VLM is down")).retryable
    assert classify(RuntimeError("bug")).retryable
    assert not classify(InvalidInput("bad", field="prompt")).retryable
    assert classify(InvalidInput("bad", field="prompt")).message == "prompt: bad"
    assert not classify(PermanentJobError("no", code=404)).retryable
    assert classify(JobCancelled()).kind == FailureKind.cancelled


def test_a_payload_round_trips_through_its_row_and_defaults_are_stated_once() -> None:
    payload = GenerateImage(seed=7, prompt="a cat", image_urls=["https://example.com/a.png"])
    row = GENERATE_IMAGE.dump(payload)
    assert row["steps_num"] == 50 and row["guidance_scale"] == 5.0 and row["aspect_ratio"] == "1:1"
    assert GENERATE_IMAGE.load(row) == payload
    assert GENERATE_IMAGE.load({"seed": 3, "guidance_scale": 4}).guidance_scale == 4.0  # JSON int -> float


def test_a_row_that_does_not_fit_its_kind_fails_for_good() -> None:
    with pytest.raises(PayloadError, match="seed is required"):
        GENERATE_IMAGE.load({"prompt": "a cat"})
    with pytest.raises(PayloadError, match="steps_num has the wrong type"):
        GENERATE_IMAGE.load({"seed": 1, "steps_num": "many"})
    assert not classify(PayloadError("x")).retryable
    with pytest.raises(TypeError):
        GENERATE_IMAGE.dump({"seed": 1})  # type: ignore[arg-type]


def test_every_kind_has_a_unique_name() -> None:
    names = [k.name for k in ALL_KINDS]
    assert len(names) == len(set(names))
