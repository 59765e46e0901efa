"""v2 generation, status and events on the base tiny model, through the sync SDK and a live server."""

from __future__ import annotations

import json

import pytest

from tailor.client import GenerationResult, NotFoundError, RequestAccepted, RequestStatus, Tailor
from tests.client.support import needs

pytestmark = [needs("POST", "/v2/image/generate"), needs("GET", "/v2/status/{request_id}")]


def test_generate_waits_and_fetches_the_image(live: Tailor) -> None:
    seen: list[RequestStatus] = []
    result = live.generate("a red house by a lake", seed=7, aspect_ratio="1:1", on_progress=seen.append)
    assert isinstance(result, GenerationResult)
    assert result.image_url and result.seed == 7 and result.request_id
    assert json.loads(result.structured_prompt or "{}")
    assert seen and seen[-1].status == "COMPLETED"
    data = live.fetch(result.image_url)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    st = live.status(result.request_id or "")
    assert st.status == "COMPLETED" and st.result and st.result["image_url"]


def test_recreate_from_structured_prompt_and_seed_gives_the_same_image(live: Tailor) -> None:
    first = live.generate("a blue bird on a branch", seed=3)
    assert isinstance(first, GenerationResult)
    again = live.generate(structured_prompt=first.structured_prompt, seed=first.seed)
    assert isinstance(again, GenerationResult)
    assert live.fetch(again.image_url or "") == live.fetch(first.image_url or "")


def test_a_result_records_every_parameter_and_recreates_itself(live: Tailor) -> None:
    first = live.generate("a green kite", seed=4, aspect_ratio="3:4", guidance_scale=3.5, steps_num=35)
    assert isinstance(first, GenerationResult)
    assert first.parameters["aspect_ratio"] == "3:4" and first.parameters["guidance_scale"] == 3.5
    kwargs = first.recreate_kwargs()
    assert kwargs["aspect_ratio"] == "3:4" and kwargs["steps_num"] == 35 and kwargs["seed"] == 4
    again = live.generate(**kwargs)
    assert isinstance(again, GenerationResult)
    assert live.fetch(again.image_url or "") == live.fetch(first.image_url or "")


def test_submit_without_waiting_then_wait(live: Tailor) -> None:
    accepted = live.generate("a cat", seed=1, wait=False)
    assert isinstance(accepted, RequestAccepted) and accepted.request_id
    done = live.wait_for_request(accepted.request_id, timeout=300)
    assert done.image_url


@needs("GET", "/v2/status/{request_id}/events")
def test_events_stream_ends_with_the_terminal_status(live: Tailor) -> None:
    accepted = live.generate("a lighthouse", seed=2, wait=False)
    assert isinstance(accepted, RequestAccepted)
    events = list(live.events(accepted.request_id))
    assert events, "no events"
    last = events[-1].data
    assert isinstance(last, dict) and last["status"] == "COMPLETED"


@needs("POST", "/v2/structured_prompt/generate")
def test_structured_prompt_on_the_base_model(live: Tailor) -> None:
    result = live.generate_structured_prompt("a robot in a garden", seed=5)
    assert isinstance(result, GenerationResult)
    assert json.loads(result.structured_prompt or "")["short_description"]


def test_unknown_request_is_not_found(live: Tailor) -> None:
    with pytest.raises(NotFoundError):
        live.status("no-such-request")


def test_bad_generation_input_names_the_field(live: Tailor) -> None:
    from tailor.client import BadRequestError

    with pytest.raises(BadRequestError) as e:
        live.generate("x", aspect_ratio="7:3")
    assert "aspect_ratio" in e.value.message


async def test_async_client_generates_through_the_worker(sdk, worker) -> None:  # type: ignore[no-untyped-def]
    from tailor.client import AsyncTailor

    assert isinstance(sdk, AsyncTailor)
    seen: list[RequestStatus] = []
    result = await sdk.generate("a green hill", seed=9, on_progress=seen.append)
    assert isinstance(result, GenerationResult) and result.seed == 9
    assert (await sdk.fetch(result.image_url or ""))[:8] == b"\x89PNG\r\n\x1a\n"
    assert seen[-1].status == "COMPLETED"
    events = [e async for e in sdk.events(result.request_id or "")]
    assert events and events[-1].data["status"] == "COMPLETED"
