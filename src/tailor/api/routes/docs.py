"""``/docs``: the interactive API documentation (Swagger UI), with every asset served by Tailor.

FastAPI's default page loads Swagger UI from a CDN and is blank offline; the same page here loads
the Swagger UI 5 files that the ``fastapi-offline`` package ships (MIT; only its files are used,
found without importing it), so the docs work on a host without internet access.
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

from tailor.domain.errors import NotFound

router = APIRouter(include_in_schema=False)

ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon.png": "image/png",
}


@lru_cache(maxsize=1)
def _assets_dir() -> Path | None:
    spec = importlib.util.find_spec("fastapi_offline")
    if spec is None or not spec.submodule_search_locations:  # pragma: no cover - installed with Tailor
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "static"


@router.get("/docs")
def docs() -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="Tailor API",
        swagger_js_url="/docs/assets/swagger-ui-bundle.js",
        swagger_css_url="/docs/assets/swagger-ui.css",
        swagger_favicon_url="/docs/assets/favicon.png",
    )


@router.get("/docs/assets/{name}")
def docs_asset(name: str) -> FileResponse:
    folder = _assets_dir()
    if name not in ASSETS or folder is None or not (folder / name).is_file():
        raise NotFound(f"no such docs asset: {name}")
    return FileResponse(
        folder / name, media_type=ASSETS[name], headers={"Cache-Control": "public, max-age=86400"}
    )
