"""Readiness rules: buckets match the trainer's, crop loss, verdicts, schema conflicts."""

from __future__ import annotations

import pytest

from tailor.bridge.schema_merge import schema_conflicts
from tailor.domain import readiness as rules
from tailor.engine.resolutions import FIBO_SIZES


def test_buckets_are_the_trainers() -> None:
    assert set(rules.TRAINING_BUCKETS) == set(FIBO_SIZES)


@pytest.mark.parametrize(
    ("size", "bucket", "loss"),
    [
        ((1024, 1024), "1:1", 0.0),
        ((1920, 1080), "16:9", 0.0),
        ((400, 130), "16:9", 0.42),
        ((640, 128), "16:9", 0.64),
    ],
)
def test_bucket_and_crop_loss(size: tuple[int, int], bucket: str, loss: float) -> None:
    assert rules.nearest_bucket(*size) == bucket
    assert rules.crop_loss(*size) == pytest.approx(loss, abs=0.01)


def test_verdict() -> None:
    warn = rules.Problem("blurry", rules.Severity.warning, "x")
    block = rules.Problem("cropped_in_half", rules.Severity.blocking, "x")
    assert rules.verdict([]) == rules.Verdict.ready
    assert rules.verdict([warn]) == rules.Verdict.ready_with_warnings
    assert rules.verdict([warn, block]) == rules.Verdict.not_ready


def test_schema_conflicts() -> None:
    schema = {
        "style_medium": "Flat illustration",
        "lighting": {"conditions": "soft"},
        "objects": [{"color": "red", "location": "left"}],
    }
    same = {"style_medium": "flat  illustration", "lighting": {"conditions": "soft", "direction": "up"}}
    assert schema_conflicts(same, schema) == []
    other = {
        "style_medium": "photograph",
        "lighting": {"conditions": "harsh"},
        "objects": [{"color": "blue", "location": "right"}],
        "short_description": "anything",
    }
    assert schema_conflicts(other, schema) == ["style_medium", "lighting.conditions", "objects[0].color"]
    assert schema_conflicts(other, None) == []
    assert schema_conflicts({}, schema) == []
