"""The litellm provider end to end against a scripted OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tailor.bridge.provider_base import VlmInvalidOutput, VlmUnavailable
from tailor.bridge.service import Bridge, build_bridge
from tailor.config import Settings

from .fake_vlm import FakeVlm, Reply, serve
from .images import make_image

GOOD = {
    "short_description": "A red square on blue.",
    "objects": [{"description": "a red square", "location": "center", "relationship": "alone"}],
    "background_setting": "flat blue",
    "lighting": {"conditions": "even", "direction": "front"},
    "aesthetics": {"composition": "centered", "color_scheme": "red and blue", "mood_atmosphere": "plain"},
    "context": "test image",
}
IMG = make_image((20, 30, 90), (220, 40, 40))


@pytest.fixture
def fake() -> Iterator[FakeVlm]:
    with serve(FakeVlm()) as f:
        yield f


def make_bridge(fake: FakeVlm, tmp_path: Path, **overrides: object) -> Bridge:
    values: dict[str, object] = {
        "home": tmp_path,
        "vlm": "openai/test-vlm",
        "vlm_base_url": fake.url,
        "vlm_api_key": "test-key",
        "vlm_timeout_s": 2.0,
        "vlm_max_retries": 3,
        "vlm_retry_backoff_s": 0.01,
    }
    values.update(overrides)
    return build_bridge(Settings(**values))  # type: ignore[arg-type]


def test_good_json_is_validated_and_normalized(fake: FakeVlm, tmp_path: Path) -> None:
    fake.script = [Reply(json.dumps(GOOD, indent=2))]
    out = make_bridge(fake, tmp_path).caption(IMG)
    assert json.loads(out) == GOOD
    body = fake.requests[0]
    assert body["model"] == "test-vlm"
    parts = body["messages"][1]["content"]
    assert any(
        p.get("type") == "image_url" and p["image_url"]["url"].startswith("data:image/jpeg;base64,")
        for p in parts
    )


def test_code_fences_and_trailing_commas_are_repaired(fake: FakeVlm, tmp_path: Path) -> None:
    broken = json.dumps(GOOD)[:-1] + ",}"
    fake.script = [Reply(f"Here is the JSON you asked for:\n```json\n{broken}\n```\nEnjoy.")]
    assert json.loads(make_bridge(fake, tmp_path).caption(IMG)) == GOOD


def test_malformed_json_is_reported(fake: FakeVlm, tmp_path: Path) -> None:
    fake.script = [Reply("I cannot describe this image {not json")]
    with pytest.raises(VlmInvalidOutput, match="valid structured prompt"):
        make_bridge(fake, tmp_path).caption(IMG)


def test_json_missing_required_fields_is_reported(fake: FakeVlm, tmp_path: Path) -> None:
    fake.script = [Reply(json.dumps({"short_description": "only this"}))]
    with pytest.raises(VlmInvalidOutput, match="lighting"):
        make_bridge(fake, tmp_path).caption(IMG)


def test_500s_are_retried_then_succeed(fake: FakeVlm, tmp_path: Path) -> None:
    fake.script = [Reply(status=500), Reply(status=503), Reply(json.dumps(GOOD))]
    assert json.loads(make_bridge(fake, tmp_path).caption(IMG)) == GOOD
    assert len(fake.requests) == 3


def test_429_rate_limits_then_success(fake: FakeVlm, tmp_path: Path) -> None:
    fake.script = [Reply(status=429), Reply(status=429), Reply(json.dumps(GOOD))]
    assert json.loads(make_bridge(fake, tmp_path).caption(IMG)) == GOOD
    assert len(fake.requests) == 3


def test_persistent_outage_is_a_clear_error(fake: FakeVlm, tmp_path: Path) -> None:
    fake.default = lambda _body: Reply(status=500, content="overloaded")
    with pytest.raises(VlmUnavailable, match="after 3 attempts"):
        make_bridge(fake, tmp_path, vlm_max_retries=2).caption(IMG)
    assert len(fake.requests) == 3


def test_slow_replies_time_out(fake: FakeVlm, tmp_path: Path) -> None:
    fake.default = lambda _body: Reply(json.dumps(GOOD), delay_s=1.5)
    with pytest.raises(VlmUnavailable, match="Timeout"):
        make_bridge(fake, tmp_path, vlm_timeout_s=0.3, vlm_max_retries=1).caption(IMG)
    assert len(fake.requests) == 2


def test_auth_errors_are_not_retried(fake: FakeVlm, tmp_path: Path) -> None:
    fake.default = lambda _body: Reply(status=401, content="bad key")
    with pytest.raises(VlmUnavailable, match="refused"):
        make_bridge(fake, tmp_path).caption(IMG)
    assert len(fake.requests) == 1


def test_identical_requests_are_cached(fake: FakeVlm, tmp_path: Path) -> None:
    fake.default = lambda _body: Reply(json.dumps(GOOD))
    bridge = make_bridge(fake, tmp_path)
    first = bridge.caption(IMG)
    assert bridge.caption(IMG) == first
    assert len(fake.requests) == 1
    bridge.caption(make_image((90, 30, 20)))
    assert len(fake.requests) == 2


def test_invalid_replies_are_not_cached(fake: FakeVlm, tmp_path: Path) -> None:
    fake.script = [Reply("nonsense"), Reply(json.dumps(GOOD))]
    bridge = make_bridge(fake, tmp_path)
    with pytest.raises(VlmInvalidOutput):
        bridge.caption(IMG)
    assert json.loads(bridge.caption(IMG)) == GOOD


def test_concurrency_is_limited_per_provider(fake: FakeVlm, tmp_path: Path) -> None:
    lock = threading.Lock()
    state = {"now": 0, "max": 0}
    gate = threading.Event()

    def slow(_body: dict) -> Reply:
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
        gate.wait(0.15)
        with lock:
            state["now"] -= 1
        return Reply(json.dumps(GOOD))

    fake.default = slow
    bridge = make_bridge(fake, tmp_path, vlm_concurrency=3, vlm_cache_size=0)
    images = [make_image((i * 20 % 255, 40, 90)) for i in range(9)]
    results = bridge.caption_many(images)
    assert all(isinstance(r, str) for r in results)
    assert len(fake.requests) == 9
    assert state["max"] == 3


def test_visual_schema_reply_may_be_partial(fake: FakeVlm, tmp_path: Path) -> None:
    fake.script = [
        Reply(json.dumps({"style_medium": "flat illustration", "objects": [{"description": "a fox"}]}))
    ]
    out = json.loads(make_bridge(fake, tmp_path).visual_schema([IMG] * 5))
    assert out == {"objects": [{"description": "a fox"}], "style_medium": "flat illustration"}
    system = fake.requests[0]["messages"][0]["content"]
    assert "VISUAL SCHEMA" in system


def test_refine_keeps_untouched_fields_in_place(fake: FakeVlm, tmp_path: Path) -> None:
    original = json.dumps(GOOD, ensure_ascii=False)
    changed = dict(reversed(list({**GOOD, "background_setting": "a beach"}.items())))  # model reorders keys
    fake.script = [Reply(json.dumps(changed))]
    out = make_bridge(fake, tmp_path).refine(original, "set the background to a beach")
    assert out == original.replace('"flat blue"', '"a beach"')
    assert "set the background to a beach" in fake.requests[0]["messages"][1]["content"][0]["text"]


def test_prefix_is_plain_text(fake: FakeVlm, tmp_path: Path) -> None:
    fake.script = [Reply('"A flat illustration of a red robot, "')]
    assert make_bridge(fake, tmp_path).prefix([IMG]) == "A flat illustration of a red robot,"
    assert "response_format" not in fake.requests[0]


def test_structured_prompt_carries_the_schema_and_keeps_its_fields(fake: FakeVlm, tmp_path: Path) -> None:
    schema = {"style_medium": "flat vector illustration", "objects": [{"description": "Lucy, a robot"}]}
    fake.script = [Reply(json.dumps(GOOD))]
    out = json.loads(
        make_bridge(fake, tmp_path).structured_prompt(
            "a robot in a park", visual_schema=json.dumps(schema), seed=7
        )
    )
    assert out["style_medium"] == "flat vector illustration"
    assert out["objects"][0]["description"] == "Lucy, a robot"
    assert fake.requests[0]["seed"] == 7
    assert "Lucy, a robot" in fake.requests[0]["messages"][1]["content"][0]["text"]


def test_refine_reply_missing_fields_is_completed_from_the_original(fake: FakeVlm, tmp_path: Path) -> None:
    original = json.dumps(GOOD, ensure_ascii=False)
    fake.script = [
        Reply(json.dumps({"background_setting": "a beach", "short_description": "A red square on a beach."}))
    ]
    out = json.loads(make_bridge(fake, tmp_path).refine(original, "set the background to a beach"))
    assert out == {**GOOD, "background_setting": "a beach", "short_description": "A red square on a beach."}


def test_caption_reply_missing_fields_is_completed_from_the_schema(fake: FakeVlm, tmp_path: Path) -> None:
    schema = {"lighting": {"conditions": "soft studio light", "direction": "front"}, "context": "brand shots"}
    partial = {k: v for k, v in GOOD.items() if k not in ("lighting", "context")}
    fake.script = [Reply(json.dumps(partial))]
    out = json.loads(make_bridge(fake, tmp_path).caption(IMG, json.dumps(schema)))
    assert out["lighting"] == schema["lighting"] and out["context"] == "brand shots"


def test_429_with_retry_after_is_retried(fake: FakeVlm, tmp_path: Path) -> None:
    fake.script = [Reply(status=429, headers={"Retry-After": "0.05"}), Reply(json.dumps(GOOD))]
    assert json.loads(make_bridge(fake, tmp_path).caption(IMG)) == GOOD
    assert len(fake.requests) == 2
