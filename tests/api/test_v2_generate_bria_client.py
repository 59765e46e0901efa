"""Bria's own client generates with a tailored model on a live Tailor, and the image is fetchable."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from bria_client import BriaSyncClient
from PIL import Image

from tailor.bootstrap import Runtime
from tailor.config import Settings
from tests.conftest import make_settings
from tests.engine.api_helpers import adapter_bytes, add_model, tiny_dir_for


@pytest.fixture
def settings(tmp_path: Path, db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    tiny = tiny_dir_for(tmp_path_factory.getbasetemp())
    return make_settings(tmp_path / "home", db_url, base_model=str(tiny), device="cpu", max_steps=3)


@pytest.fixture
def bria(token: str, live_server: str) -> Iterator[BriaSyncClient]:
    with BriaSyncClient(base_url=live_server, api_token=token) as c:
        yield c


def test_run_tailored_generation_returns_a_fetchable_image(
    bria: BriaSyncClient, runtime: Runtime, token: str, settings: Settings
) -> None:
    model_id = add_model(runtime, token, adapter_bytes(Path(settings.base_model), 1))
    res = bria.run(
        "image/generate/tailored",
        {"tailored_model_id": str(model_id), "prompt": "a lighthouse at dawn", "seed": 11},
    )
    assert res.status == "COMPLETED", res
    assert res.result.seed == 11
    image = httpx.get(res.result.image_url, timeout=30)  # a signed link: no token needed
    assert image.status_code == 200
    assert Image.open(io.BytesIO(image.content)).format == "PNG"

    again = bria.run(
        "image/generate/tailored",
        {"tailored_model_id": str(model_id), "structured_prompt": res.result.structured_prompt, "seed": 11},
    )
    assert httpx.get(again.result.image_url, timeout=30).content == image.content  # recreate


def test_unknown_model_is_an_error_for_the_client(bria: BriaSyncClient) -> None:
    res = bria.run("image/generate/tailored", {"tailored_model_id": "999999", "prompt": "x"})
    assert res.status == "ERROR" and res.error.code == 404
