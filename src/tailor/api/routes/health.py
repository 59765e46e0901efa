"""``/health``: liveness plus a database round-trip."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from tailor import __version__
from tailor.api.deps import RuntimeDep

router = APIRouter(tags=["Service"])


@router.get("/health")
def health(rt: RuntimeDep) -> dict[str, object]:
    with rt.engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    return {"status": "ok", "version": __version__}
