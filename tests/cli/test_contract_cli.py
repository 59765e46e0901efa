"""``tailor model upload`` and ``tailor dataset download`` through the real entry point against a
live server (``text-to-image``, ``generate-lite`` and ``prompt-diff`` are thin wrappers of SDK
methods tested in tests/client/test_contract_sdk.py)."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

from tailor.bootstrap import Runtime
from tailor.store.db import session_scope
from tailor.store.tables import Dataset
from tests.cli.conftest import Result
from tests.client.test_contract_sdk import _serve
from tests.engine.api_helpers import adapter_bytes
from tests.engine.training.helpers import seed_dataset

Run = Callable[..., Result]


def test_contract_commands(tailor: Run, runtime: Runtime, token: str, tiny_dir: Path, tmp_path: Path) -> None:
    runtime.settings.allow_private_urls = True
    server, url = _serve(adapter_bytes(tiny_dir, 1))
    try:
        r = tailor("model", "upload", url, "--name", "byo", "--medium", "illustration", "--json")
        assert r.rc == 0, r.stderr
        model = r.json()
        assert model["status"] == "Completed" and model["name"] == "byo"
    finally:
        server.shutdown()
        server.server_close()

    dataset_id = seed_dataset(runtime, token, n=2).dataset_id
    with session_scope(runtime.sessions) as s:
        ds = s.get(Dataset, dataset_id)
        assert ds is not None
        ds.upload_type = "advanced"
    zpath, cpath = tmp_path / "d.zip", tmp_path / "c.jsonl"
    r = tailor("dataset", "download", str(dataset_id), "-o", str(zpath), "--captions", str(cpath))
    assert r.rc == 0, r.stderr
    assert len(zipfile.ZipFile(zpath).namelist()) == 2 and len(cpath.read_text().splitlines()) == 2
