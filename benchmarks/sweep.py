"""Sweeper figures: blobs examined per second, and a sweep's peak memory, on the disk store and SQLite.

    .venv/bin/python benchmarks/sweep.py [--images 20000] [--orphans 2000] [--orgs 4]

Each image row names two blobs (file and thumbnail); ``--orphans`` blobs per run are named by
nothing. The figures: a sweep that removes nothing (everything within the grace period, which still
lists every blob), a dry run past the grace period (lists, reads the records, decides), and the
real sweep that removes the orphans.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tailor.bootstrap import build_runtime
from tailor.config import Settings
from tailor.services.sweeper import sweep
from tailor.store import orgs
from tailor.store.db import session_scope
from tailor.store.tables import Dataset, Image, Project


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=20000)
    ap.add_argument("--orphans", type=int, default=2000)
    ap.add_argument("--orgs", type=int, default=4)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rt = build_runtime(Settings(home=Path(tmp) / "home", secret_key="bench"), migrate=True)
        made = time.perf_counter()
        per_org = args.images // args.orgs
        for n in range(args.orgs):
            with session_scope(rt.sessions) as s:
                org = orgs.get_or_create_org(s, f"org{n}")
                project = Project(
                    organization_id=org.id, project_name="p", ip_medium="photography", ip_type="object"
                )
                s.add(project)
                s.flush()
                ds = Dataset(organization_id=org.id, project_id=project.id, name="d", upload_type="advanced")
                s.add(ds)
                s.flush()
                rows = []
                for _ in range(per_org):
                    stem = f"images/{org.id}/{uuid.uuid4().hex}"
                    rt.blobs.put(stem + ".png", b"p" * 64)
                    rt.blobs.put(stem + "_thumb.jpg", b"t" * 32)
                    rows.append(
                        Image(
                            organization_id=org.id,
                            dataset_id=ds.id,
                            image_name="x.png",
                            blob_key=stem + ".png",
                            thumbnail_key=stem + "_thumb.jpg",
                            width=1024,
                            height=1024,
                            sha256="0" * 64,
                        )
                    )
                s.add_all(rows)
                for _ in range(args.orphans // args.orgs):
                    rt.blobs.put(f"images/{org.id}/{uuid.uuid4().hex}.png", b"o" * 64)
        total = per_org * args.orgs * 2 + (args.orphans // args.orgs) * args.orgs
        print(
            f"{total} blobs ({per_org * args.orgs} image rows, {args.orgs} organizations) "
            f"made in {time.perf_counter() - made:.1f} s"
        )
        later = datetime.now(UTC) + timedelta(hours=2)
        for label, kw in (
            ("within the grace period", {}),
            ("dry run past it", {"now": later, "dry_run": True}),
            ("sweep past it", {"now": later}),
        ):
            t0 = time.perf_counter()
            report = sweep(rt, grace_s=3600, **kw)  # type: ignore[arg-type]
            dt = time.perf_counter() - t0
            print(f"{label:<24} {dt:6.2f} s  {total / dt:8.0f} blobs/s  removed {report.count}")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS {peak:.0f} MB")
        rt.close()


if __name__ == "__main__":
    main()
