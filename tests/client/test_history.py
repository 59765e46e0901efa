"""The SDK on a Stopped model's checkpoints and a project's generation history (async, in-process)."""

from __future__ import annotations

from pathlib import Path

from tailor.bootstrap import Runtime
from tailor.client import AsyncTailor, GenerationResult, PreconditionFailedError
from tests.client.support import needs
from tests.engine.api_helpers import SP, adapter_bytes, add_checkpoints, add_model

pytestmark = needs("GET", "/v1/tailored-gen/projects/{project_id}/generations")


async def test_complete_a_stopped_model_then_recreate_from_the_history(
    sdk: AsyncTailor, runtime: Runtime, token: str, tiny_dir: Path, worker: object
) -> None:
    empty = add_model(runtime, token, None, status="Stopped")
    try:
        await sdk.models.complete_from_checkpoint(empty)
        raise AssertionError("a Stopped model without checkpoints cannot be completed")
    except PreconditionFailedError as e:
        assert "stopped before it saved a checkpoint" in str(e)

    mid = add_model(runtime, token, None, status="Stopped")
    add_checkpoints(runtime, mid, {100: adapter_bytes(tiny_dir, 1), 200: adapter_bytes(tiny_dir, 2)})
    assert (await sdk.models.download(mid, checkpoint_step=100)).checkpoint_step == 100
    model = await sdk.models.complete_from_checkpoint(mid)
    assert model.status == "Completed" and str(model.active_model_version) == "200"

    made = await sdk.generate(model_id=mid, structured_prompt=SP, seed=5, checkpoint_step=100)
    assert isinstance(made, GenerationResult) and made.parameters["model_version"] == 100
    page = await sdk.generations.list(model.project_id or 0)
    assert page.total == 1
    (entry,) = page.generations
    assert entry.request_id == made.request_id and entry.model_version == "100"
    kwargs = entry.recreate_kwargs()
    assert kwargs["checkpoint_step"] == 100 and kwargs["model_id"] == str(mid)
    again = await sdk.generate(**kwargs)
    assert isinstance(again, GenerationResult)
    assert await sdk.fetch(again.image_url or "") == await sdk.fetch(entry.image_url or "")
    await sdk.generations.delete(model.project_id or 0, entry.id)
    assert [g.request_id for g in (await sdk.generations.list(model.project_id or 0)).generations] == [
        again.request_id
    ]
