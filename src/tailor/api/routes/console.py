"""``/console``: the web console shell and its static assets (ES modules, CSS), all served by Tailor."""

from __future__ import annotations

import mimetypes
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from tailor import __version__
from tailor.domain.errors import NotFound

CONSOLE_DIR = Path(__file__).resolve().parents[2] / "console"
STATIC_DIR = CONSOLE_DIR / "static"
TEMPLATES_DIR = CONSOLE_DIR / "templates"

# Everything comes from this server; images may come from a blob store's signed links.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob: http: https:; "
    "media-src 'self' blob: http: https:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'self'; frame-ancestors 'none'; form-action 'self'"
)
_TYPES = {".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}

router = APIRouter(tags=["Console"], include_in_schema=False)


@lru_cache(maxsize=1)
def _templates() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES_DIR), autoescape=select_autoescape(["html"]))


@router.get("/console")
def console() -> HTMLResponse:
    """The single page shell; the JavaScript modules route by the URL hash."""
    html = _templates().get_template("index.html").render(version=__version__)
    return HTMLResponse(html, headers={"Content-Security-Policy": CSP, "Cache-Control": "no-cache"})


@router.get("/console/")
def console_slash() -> RedirectResponse:
    return RedirectResponse("/console", status_code=307)


@router.get("/console/static/{path:path}")
def console_static(path: str) -> FileResponse:
    """A static asset; only files under the console's static folder."""
    target = (STATIC_DIR / path).resolve()
    if not target.is_file() or STATIC_DIR.resolve() not in target.parents:
        raise NotFound(f"no such console asset: {path}")
    media = _TYPES.get(target.suffix) or mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    return FileResponse(target, media_type=media, headers={"Cache-Control": "no-cache"})
