"""Routers, collected by the app factory. Add a router module to ROUTERS to mount it."""

from __future__ import annotations

import importlib

from fastapi import APIRouter

# (module path, attribute). Each module exposes an APIRouter named ``router``.
ROUTERS: list[str] = [
    "tailor.api.routes.health",
    "tailor.api.routes.files",
    "tailor.api.routes.v1.projects",
    "tailor.api.routes.v1.datasets",
    "tailor.api.routes.v1.images",
    "tailor.api.routes.v1.models",
    "tailor.api.routes.v1.generations",
    "tailor.api.routes.v1.dataset_download",
    "tailor.api.routes.v1.legacy",
    "tailor.api.routes.v2.image",
    "tailor.api.routes.v2.edit",
    "tailor.api.routes.v2.status",
    "tailor.api.routes.v2.structured_prompt",
    "tailor.api.routes.v2.structured_prompt_tailored",
    "tailor.api.routes.v2.lite",
    "tailor.api.routes.v2.video",
    "tailor.api.routes.v2.cancel",
    "tailor.api.routes.v1.vlm",
    "tailor.api.routes.metrics",
    "tailor.api.routes.console",
    "tailor.api.routes.docs",
]


def all_routers() -> list[APIRouter]:
    return [importlib.import_module(m).router for m in ROUTERS]
