"""Bulk-ingest throughput and memory: a zip of N generated 1024x1024 JPEGs through the real bulk path.

Usage: python benchmarks/ingest.py [N] [--keep]

Builds the archive in a child process (so its memory does not count), then in this process:
1. runs the ``bulk_upload`` job handler against a real runtime (SQLite + disk blobs) in a temp home,
2. decodes and verifies the same files with Pillow alone (the raw rate),
and prints images/s for both, their ratio, and the peak RSS of this process during ingest.
"""

from __future__ import annotations

import argparse
import io
import multiprocessing
import os
import resource
import shutil
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


def _make_zip(path: str, n: int, seed: int = 0) -> None:
    """N 1024x1024 JPEGs: shapes plus noise, so they neither compress to nothing nor look alike."""
    import numpy as np
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for i in range(n):
            base = Image.new("RGB", (1024, 1024), tuple(int(c) for c in rng.integers(0, 255, 3)))
            draw = ImageDraw.Draw(base)
            for _ in range(12):
                x0, y0 = (int(v) for v in rng.integers(0, 900, 2))
                x1, y1 = x0 + int(rng.integers(40, 400)), y0 + int(rng.integers(40, 400))
                fill = tuple(int(c) for c in rng.integers(0, 255, 3))
                (draw.ellipse if rng.random() < 0.5 else draw.rectangle)((x0, y0, x1, y1), fill=fill)
            noise = rng.normal(0, 12, (1024, 1024, 3))
            pixels = np.clip(np.asarray(base, dtype=np.float32) + noise, 0, 255).astype(np.uint8)
            buf = io.BytesIO()
            Image.fromarray(pixels).save(buf, "JPEG", quality=90)
            zf.writestr(f"images/{i:05d}.jpg", buf.getvalue())


def _rss_mb() -> float:
    import psutil

    return float(psutil.Process().memory_info().rss) / 2**20


class PeakRss:
    """Samples this process's RSS every 20 ms (psutil); also reports getrusage's lifetime peak."""

    def __init__(self) -> None:
        self.peak = 0.0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss_mb())
            time.sleep(0.02)

    def __enter__(self) -> PeakRss:
        self._t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._t.join()
        self.peak = max(self.peak, _rss_mb())


def ingest(zip_path: Path, home: Path) -> tuple[float, int, int, float]:
    """Run the bulk upload job on the archive; returns (seconds, done, failed, peak RSS MB)."""
    from tailor.bootstrap import build_runtime
    from tailor.config import Settings
    from tailor.services import bulk_upload, datasets, projects
    from tailor.store import orgs
    from tailor.store.db import session_scope
    from tailor.worker.run import run_pending

    settings = Settings(home=home, secret_key="bench", workers=0)
    rt = build_runtime(settings, migrate=True)
    with session_scope(rt.sessions) as s:
        org_id = orgs.get_or_create_org(s, "bench").id
    project = projects.create_project(
        rt, org_id, {"project_name": "bench", "ip_medium": "illustration", "ip_type": "icons"}
    )
    ds = datasets.create_dataset(rt, org_id, project.id, "bench", "advanced").dataset
    with open(zip_path, "rb") as f:
        bulk_upload.start_bulk_upload(rt, org_id, ds.id, archive=f)
    with PeakRss() as rss:
        t0 = time.perf_counter()
        ran = run_pending(rt.queue, rt.job_context())
        elapsed = time.perf_counter() - t0
    assert ran == 1
    status = bulk_upload.bulk_status(rt, org_id, ds.id)
    rt.close()
    if status["status"] != "completed":
        raise SystemExit(f"bulk upload did not complete: {status}")
    return elapsed, status["done"], status["failed"], rss.peak


def raw_decode(zip_path: Path) -> tuple[float, int]:
    """Pillow alone on the same members: verify, then a full decode; returns (seconds, count)."""
    from PIL import Image

    n = 0
    t0 = time.perf_counter()
    with zipfile.ZipFile(zip_path) as zf:
        for info in zf.infolist():
            data = zf.read(info)
            with Image.open(io.BytesIO(data)) as im:
                im.verify()
            with Image.open(io.BytesIO(data)) as im:
                im.load()
            n += 1
    return time.perf_counter() - t0, n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", nargs="?", type=int, default=200, help="images in the archive (default 200)")
    ap.add_argument("--keep", action="store_true", help="keep the temp directory")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tailor-ingest-"))
    try:
        zip_path = work / "images.zip"
        t0 = time.perf_counter()
        proc = multiprocessing.get_context("spawn").Process(target=_make_zip, args=(str(zip_path), args.n))
        proc.start()
        proc.join()
        if proc.exitcode != 0:
            raise SystemExit("building the archive failed")
        size_mb = zip_path.stat().st_size / 2**20
        print(
            f"archive: {args.n} JPEGs 1024x1024, {size_mb:.0f} MB, built in {time.perf_counter() - t0:.1f}s"
        )
        base_rss = _rss_mb()
        secs, done, failed, peak = ingest(zip_path, work / "home")
        ru_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
        rate = done / secs
        print(f"ingest:  {done} images ({failed} failed) in {secs:.2f}s = {rate:.1f} images/s")
        print(
            f"memory:  peak RSS {peak:.0f} MB during ingest (process start {base_rss:.0f} MB; "
            f"getrusage lifetime peak {ru_peak:.0f} MB)"
        )
        raw_secs, raw_n = raw_decode(zip_path)
        raw_rate = raw_n / raw_secs
        print(f"raw PIL: {raw_n} images verify+decode in {raw_secs:.2f}s = {raw_rate:.1f} images/s")
        print(
            f"ratio:   ingest / raw = {rate / raw_rate:.0%} (target >= 70%); "
            f"peak RSS target < 500 MB: {'ok' if peak < 500 else 'OVER'}"
        )
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
