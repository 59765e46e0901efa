"""Routers, collected by the app factory. Add a router module to ROUTERS to mount it."""

from __future__ import annotations

import importlib

from fastapi import APIRouter

# (module path, attribute). Each module exposes an APIRouter named ``router``.
ROUTERS: list[str] = [
    "tailor.api.routes.health",
    "tailor.api.routes.files",
]


def all_routers() -> list[APIRouter]:
    return [importlib.import_module(m).router for m in ROUTERS]
