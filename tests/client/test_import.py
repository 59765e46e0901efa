"""The SDK needs only httpx and pydantic: it imports with the server's dependencies blocked."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import tailor.client

BLOCKED = ["fastapi", "starlette", "sqlalchemy", "torch", "diffusers", "transformers", "typer", "rich"]


def test_sdk_imports_with_server_dependencies_blocked() -> None:
    code = (
        "import sys\n"
        f"for m in {BLOCKED!r}: sys.modules[m] = None\n"
        "from tailor.client import Tailor, AsyncTailor, TailorAPIError\n"
        "t = Tailor('http://127.0.0.1:9', token='x')\n"
        "t.close()\n"
        "print('ok')\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "ok"


def test_no_module_under_client_imports_server_packages() -> None:
    root = Path(tailor.client.__file__).parent
    offenders = []
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top in BLOCKED or (name.startswith("tailor.") and not name.startswith("tailor.client")):
                    offenders.append(f"{path.name}: {name}")
    assert offenders == []
