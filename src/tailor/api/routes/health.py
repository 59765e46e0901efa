"""``/health``: liveness plus a database round-trip."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from tailor import __version__
from tailor.api.deps import RuntimeDep
from tailor.config import Settings
from tailor.domain.moderation import OFF_NOTE, terms_of

router = APIRouter(tags=["Service"])


@router.get("/health")
def health(rt: RuntimeDep) -> dict[str, object]:
    with rt.engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    return {"status": "ok", "version": __version__, "moderation": _moderation(rt.settings)}


def _moderation(settings: Settings) -> dict[str, object]:
    """Whether the requests' content-moderation flags do anything here, and with what."""
    model = settings.moderation_model
    prompts = bool(terms_of(settings.moderation_blocked_terms))
    body: dict[str, object] = {
        "enabled": bool(model) or prompts,
        "image_model": model,
        "prompt_check": prompts,
    }
    if not body["enabled"]:
        body["note"] = OFF_NOTE
    return body
