"""The SDK for upload_model, dataset download, the legacy v1 path, lite and generate_from_diff,
against a live server with a worker on the tiny model."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from bria_client import BriaSyncClient

from tailor.bootstrap import Runtime
from tailor.client import Tailor
from tailor.store.db import session_scope
from tailor.store.tables import Dataset
from tests.engine.api_helpers import SP, adapter_bytes
from tests.engine.training.helpers import seed_dataset


def _serve(data: bytes) -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/lora.safetensors"


def test_the_sdk_covers_the_contract_additions(
    live: Tailor, runtime: Runtime, token: str, tiny_dir: Any
) -> None:
    runtime.settings.allow_private_urls = True
    adapter = adapter_bytes(tiny_dir, 1)
    server, url = _serve(adapter)
    try:
        model = live.models.upload(
            url, model_name="byo", project_parameters={"ip_medium": "illustration"}, custom_metadata="k=v"
        )
        assert model.status == "Syncing" and model.custom_metadata == "k=v"
        done = live.models.wait_for_upload(model.id, timeout=60, interval=0.1)
        assert done.status == "Completed" and done.generation_prefix is None
    finally:
        server.shutdown()
        server.server_close()

    legacy = live.text_to_image_tailored(done.id, "a fox", num_results=1, seed=3, steps_num=2)
    assert legacy.result[0].seed == 3 and live.fetch(legacy.result[0].urls[0])[:4] == b"\x89PNG"

    lite = live.generate_lite(structured_prompt=SP, seed=2, timeout=60)
    assert lite.image_url and lite.seed == 2  # type: ignore[union-attr]
    edited = json.loads(SP)
    edited["lighting"]["conditions"] = "neon"
    diff = live.structured_prompt_from_diff(SP, edited, seed=1, timeout=60)
    assert json.loads(diff.structured_prompt)["lighting"]["conditions"] == "neon"  # type: ignore[union-attr,arg-type]
    sp = live.generate_structured_prompt_lite("a kite", seed=5, timeout=60)
    assert sp.structured_prompt  # type: ignore[union-attr]

    # Bria's own client, unchanged, on the lite and generate_from_diff paths (it only speaks /v2)
    with BriaSyncClient(base_url=live.base_url, api_token=token) as bria:
        res = bria.run("image/generate/lite", {"structured_prompt": SP, "seed": 6})
        assert res.error is None and res.result is not None and res.result.seed == 6
        assert res.result.image_url and res.result.structured_prompt
        res = bria.run(
            "structured_prompt/generate_from_diff",
            {"structured_prompt": SP, "user_adjusted_structured_prompt": json.dumps(edited)},
        )
        assert res.error is None and res.result is not None
        assert json.loads(res.result.structured_prompt)["lighting"]["conditions"] == "neon"

    dataset_id = seed_dataset(runtime, token, n=2).dataset_id
    with session_scope(runtime.sessions) as s:
        ds = s.get(Dataset, dataset_id)
        assert ds is not None
        ds.upload_type = "advanced"
    links = live.datasets.download(dataset_id, timeout=30, interval=0.1)
    assert live.fetch(links.download_url)[:2] == b"PK" and links.captions_url
