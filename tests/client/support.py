"""Shared by the SDK, CLI and console tests: settings on the tiny model, test images, route checks."""

from __future__ import annotations

import importlib
import io
import random
from functools import lru_cache
from pathlib import Path

import pytest

from tailor.config import Settings
from tests.conftest import make_settings


@lru_cache(maxsize=1)
def mounted_routes() -> frozenset[tuple[str, str]]:
    """(METHOD, path) of every route the app mounts now (routers that fail to import are left out)."""
    from tailor.api.routes import ROUTERS

    found: set[tuple[str, str]] = set()
    for mod in ROUTERS:
        try:
            router = importlib.import_module(mod).router
        except Exception:  # noqa: BLE001 - a router being written right now must not break collection
            continue
        for route in router.routes:
            for method in getattr(route, "methods", None) or ():
                found.add((method, getattr(route, "path", "")))
    return frozenset(found)


def has_route(method: str, path: str) -> bool:
    return (method.upper(), path) in mounted_routes()


def needs(method: str, path: str) -> pytest.MarkDecorator:
    """Skip a test while the API route it exercises is not mounted yet."""
    return pytest.mark.skipif(
        not has_route(method, path), reason=f"the API does not mount {method} {path} yet"
    )


def tiny_settings(home: Path, db_url: str, tiny_dir: Path, **overrides: object) -> Settings:
    """Settings for tests: the tiny model on CPU, few steps, loopback URLs allowed."""
    values: dict[str, object] = {
        "base_model": str(tiny_dir),
        "device": "cpu",
        "max_steps": 2,
        "allow_private_urls": True,
        "training_max_steps": 2,
        "training_checkpoint_interval": 1,
        "training_sample_steps": 1,
        "training_grad_accumulation": 1,
        "training_gradient_checkpointing": False,
    }
    known = Settings.model_fields
    values = {k: v for k, v in values.items() if k in known}
    values.update(overrides)
    return make_settings(home, db_url, **values)


def png(seed: int, size: int = 256) -> bytes:
    """A small PNG with a colour and a few rectangles (different per seed)."""
    from PIL import Image, ImageDraw

    rnd = random.Random(seed)
    img = Image.new("RGB", (size, size), tuple(rnd.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(img)
    for _ in range(4):
        x0, y0 = rnd.randrange(size // 2), rnd.randrange(size // 2)
        draw.rectangle(
            (x0, y0, x0 + rnd.randrange(20, size // 2), y0 + rnd.randrange(20, size // 2)),
            fill=tuple(rnd.randrange(256) for _ in range(3)),
        )
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def write_pngs(folder: Path, n: int, start: int = 0) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(start, start + n):
        p = folder / f"img_{i:02d}.png"
        p.write_bytes(png(i))
        paths.append(p)
    return paths
