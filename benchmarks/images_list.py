"""Browsing a large dataset through the API: the images list (whole, paged, filtered) and bulk delete.

    .venv/bin/python benchmarks/images_list.py [--images 5000] [--repeat 5] [--database-url URL]

Image rows are inserted directly (with readiness measures, captions in every state), so the figures
are the API's: query, rendering and signing links, JSON. Each figure is the median of ``--repeat``
calls through the real app (ASGI, in process), with the response size.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from tailor.api.app import create_app
from tailor.bootstrap import build_runtime
from tailor.config import Settings
from tailor.store import orgs
from tailor.store.db import session_scope
from tailor.store.tables import Dataset, Image, ImageMeasure, Project

CAPTION = {
    "short_description": "a cat",
    "background_setting": "a plain room",
    "lighting": {"conditions": "soft", "direction": "front", "shadows": "soft"},
    "aesthetics": {"composition": "centered", "color_scheme": "warm", "mood_atmosphere": "calm"},
    "style_medium": "photograph",
    "context": "a test image",
}


def seed(rt, n: int) -> tuple[str, int]:  # type: ignore[no-untyped-def]
    with session_scope(rt.sessions) as s:
        org = orgs.get_or_create_org(s, "bench")
        token = orgs.create_token(s, org, secret=rt.settings.resolved_secret_key())
        project = Project(organization_id=org.id, project_name="p", ip_medium="photography", ip_type="other")
        s.add(project)
        s.flush()
        ds = Dataset(organization_id=org.id, project_id=project.id, name="d", upload_type="advanced")
        s.add(ds)
        s.flush()
        rows = []
        for i in range(n):
            caption = json.dumps(CAPTION | {"short_description": f"a cat number {i}"})
            state = ("automatic", "manual", "pending", None)[i % 4]
            rows.append(
                Image(
                    organization_id=org.id,
                    dataset_id=ds.id,
                    image_name=f"img{i:05d}.jpg",
                    blob_key=f"images/{org.id}/{i:032x}.jpg",
                    thumbnail_key=f"images/{org.id}/{i:032x}.thumb.jpg",
                    width=1024,
                    height=1024,
                    sha256=f"{i % (n - 50):064x}",  # 50 exact duplicate pairs
                    caption=caption if state else None,
                    caption_source=state,
                    upload_source="zip",
                    file_size=180_000,
                    source_width=1024 if i % 10 else 512,
                    source_height=1024 if i % 10 else 512,
                )
            )
        s.add_all(rows)
        s.flush()
        s.add_all(
            ImageMeasure(
                image_id=r.id,
                phash=f"{(r.id * 0x9E3779B97F4A7C15) % 2**64:016x}",
                sharpness=300.0,
                source_width=r.source_width or 1024,
                source_height=r.source_height or 1024,
            )
            for r in rows
        )
        return token, ds.id


async def timed(
    client: httpx.AsyncClient, method: str, url: str, repeat: int, **kw: object
) -> tuple[float, int]:
    times, size = [], 0
    for _ in range(repeat):
        t = time.perf_counter()
        r = await client.request(method, url, **kw)  # type: ignore[arg-type]
        times.append(time.perf_counter() - t)
        assert r.status_code == 200, r.text
        size = len(r.content)
    return statistics.median(times), size


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            home=Path(tmp) / "home",
            secret_key="bench",
            allowed_hosts="bench",
            rate_limit_per_s=0,
            **({"database_url": args.database_url} if args.database_url else {}),
        )
        rt = build_runtime(settings, migrate=True)
        t = time.perf_counter()
        token, ds = seed(rt, args.images)
        db = "postgresql" if args.database_url else "sqlite"
        print(f"seeded {args.images} image rows in {time.perf_counter() - t:.2f} s ({db})")
        app = create_app(settings, rt)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://bench", headers={"api_token": token}
        ) as c:
            base = f"/v1/tailored-gen/datasets/{ds}/images"
            cases = [
                ("whole list (Bria's shape)", base, {}),
                ("first page of 48", base, {"limit": 48}),
                ("last page of 48", base, {"limit": 48, "offset": args.images - 48}),
                ("caption_state=missing, page of 48", base, {"caption_state": "missing", "limit": 48}),
                ("search 'number 4998', page of 48", base, {"search": "number 4998", "limit": 48}),
                (
                    "flag=exact_duplicate (readiness report), page of 48",
                    base,
                    {"flag": "exact_duplicate", "limit": 48},
                ),
                ("readiness report (GET .../report)", f"/v1/tailored-gen/datasets/{ds}/report", {}),
            ]
            print(f"{'request':55} {'median':>9} {'bytes':>11}")
            for name, url, params in cases:
                secs, size = await timed(c, "GET", url, args.repeat, params=params)
                print(f"{name:55} {secs * 1000:7.1f} ms {size:11,d}")
            ids = [i["id"] for i in (await c.get(base, params={"limit": 500})).json()]
            t = time.perf_counter()
            r = await c.post(f"{base}/delete", json={"image_ids": ids})
            assert r.status_code == 200, r.text
            print(
                f"{'bulk delete of 500 images (one request)':55} {(time.perf_counter() - t) * 1000:7.1f} ms"
            )
        rt.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--database-url", default=None)
    asyncio.run(run(ap.parse_args()))


if __name__ == "__main__":
    main()
