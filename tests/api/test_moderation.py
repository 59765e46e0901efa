"""Content moderation where the request's flags ask: the prompt check (blocked terms) at once, and
the image check (a tiny image classifier built here, offline) on the output; 422 with the reason."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tailor.api.routes.health import _moderation
from tailor.bootstrap import Runtime
from tailor.config import Settings
from tests.conftest import make_settings
from tests.engine.api_helpers import SP, tiny_dir_for, wait_done


def build_classifier(folder: Path, blocked_bias: float) -> Path:
    """A random-weight ViT with labels safe/nsfw whose answer is fixed by the classifier bias."""
    import torch
    from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor

    config = ViTConfig(
        image_size=32, patch_size=16, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=32, id2label={0: "safe", 1: "nsfw"}, label2id={"safe": 0, "nsfw": 1},
    )  # fmt: skip
    torch.manual_seed(0)
    model = ViTForImageClassification(config)
    with torch.no_grad():
        model.classifier.weight.zero_()
        model.classifier.bias.copy_(torch.tensor([0.0, blocked_bias]))
    model.save_pretrained(folder)
    ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(folder)
    return folder


@pytest.fixture
def settings(tmp_path: Path, db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    tiny = tiny_dir_for(tmp_path_factory.getbasetemp())
    classifier = build_classifier(tmp_path / "classifier", blocked_bias=8.0)  # blocks everything
    return make_settings(
        tmp_path / "home", db_url, base_model=str(tiny), device="cpu", max_steps=2,
        moderation_model=str(classifier), moderation_blocked_terms="forbidden sign, gore",
    )  # fmt: skip


async def test_flags_moderate_prompts_and_outputs(
    client: httpx.AsyncClient, auth: dict, runtime: Runtime, worker: object
) -> None:
    health = (await client.get("/health")).json()["moderation"]
    assert health["enabled"] and health["prompt_check"] and health["image_model"]

    r = await client.post("/v2/image/generate", json={"prompt": "a Forbidden Sign on a wall"}, headers=auth)
    assert r.status_code == 422 and "prompt" in r.json()["error"]["message"]
    body = {
        "prompt": "a forbidden sign",
        "prompt_content_moderation": False,
        "visual_output_content_moderation": False,
    }
    assert (await client.post("/v2/image/generate", json=body, headers=auth)).status_code == 202

    r = await client.post("/v2/image/generate", json={"structured_prompt": SP, "seed": 1}, headers=auth)
    done = await wait_done(client, auth, r.json()["request_id"])
    assert done["status"] == "ERROR" and "blocked by content moderation" in str(done["error"]), done
    body = {"structured_prompt": SP, "seed": 1, "visual_output_content_moderation": False}
    r = await client.post("/v2/image/generate", json=body, headers=auth)
    assert (await wait_done(client, auth, r.json()["request_id"]))["status"] == "COMPLETED"


def test_health_says_when_moderation_is_off(settings: Settings) -> None:
    off = _moderation(
        settings.model_copy(update={"moderation_model": None, "moderation_blocked_terms": None})
    )
    assert off["enabled"] is False and "off" in str(off["note"])


def test_a_classifier_that_passes_lets_images_through(tmp_path: Path) -> None:
    import io

    from PIL import Image

    from tailor.engine.moderation import ImageModerator

    buf = io.BytesIO()
    Image.new("RGB", (40, 40), (200, 10, 10)).save(buf, format="PNG")
    passes = ImageModerator(str(build_classifier(tmp_path / "p", blocked_bias=-8.0)), ["nsfw"], 0.5)
    blocks = ImageModerator(str(build_classifier(tmp_path / "b", blocked_bias=8.0)), ["nsfw"], 0.5)
    assert passes.reason(buf.getvalue()) is None
    assert (blocks.reason(buf.getvalue()) or "").startswith("nsfw")


async def test_an_uploaded_image_is_checked_when_asked(
    client: httpx.AsyncClient, auth: dict, runtime: Runtime, token: str
) -> None:
    import base64
    import io

    from PIL import Image

    from tests.engine.training.helpers import seed_dataset

    dataset_id = seed_dataset(runtime, token, status="draft").dataset_id
    buf = io.BytesIO()
    Image.new("RGB", (1024, 1024), (10, 120, 200)).save(buf, format="PNG")
    body = {"file": base64.b64encode(buf.getvalue()).decode(), "image_name": "x.png"}
    url = f"/v1/tailored-gen/datasets/{dataset_id}/images"
    r = await client.post(url, json={**body, "content_moderation": True}, headers=auth)
    assert r.status_code == 422 and "blocked by content moderation" in r.json()["error"]["message"]
    assert (await client.post(url, json=body, headers=auth)).status_code == 201
