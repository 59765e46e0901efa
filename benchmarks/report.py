"""Dataset readiness report cost: the per-image measures at ingest, and the report over a dataset.

Usage: python benchmarks/report.py [N]   (N generated 1024x1024 JPEGs, default 200)

Prints, per 1000 images:
1. the plain decode rate (Pillow, full decode), the ingest normalisation with the readiness
   measures (``infra.imaging.normalize_image``, what an upload runs), and the measures alone on the
   same thumbnails; the share the measures add to ingest (target: at most 30%);
2. the time to build ``GET /datasets/{id}/report`` from the rows of a dataset of 1000 and 5000
   images (a real SQLite runtime; rows written directly, no pixels), near-duplicate search included.
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


def _images(n: int) -> list[bytes]:
    import numpy as np
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(0)
    out = []
    for _ in range(n):
        base = Image.new("RGB", (1024, 1024), tuple(int(c) for c in rng.integers(0, 255, 3)))
        draw = ImageDraw.Draw(base)
        for _ in range(12):
            x0, y0 = (int(v) for v in rng.integers(0, 900, 2))
            x1, y1 = x0 + int(rng.integers(40, 400)), y0 + int(rng.integers(40, 400))
            draw.ellipse((x0, y0, x1, y1), fill=tuple(int(c) for c in rng.integers(0, 255, 3)))
        noise = rng.normal(0, 12, (1024, 1024, 3))
        pixels = np.clip(np.asarray(base, dtype=np.float32) + noise, 0, 255).astype(np.uint8)
        buf = io.BytesIO()
        Image.fromarray(pixels).save(buf, "JPEG", quality=90)
        out.append(buf.getvalue())
    return out


def ingest_figures(n: int) -> None:
    from PIL import Image

    from tailor.infra.image_quality import measure, working_image
    from tailor.infra.imaging import ImageRules, normalize_image

    data = _images(n)
    t = time.perf_counter()
    for d in data:
        with Image.open(io.BytesIO(d)) as im:
            im.load()
    decode = time.perf_counter() - t
    rules = ImageRules()
    t = time.perf_counter()
    thumbs = []
    for d in data:
        img = normalize_image(d, rules)
        thumbs.append(Image.open(io.BytesIO(img.thumbnail)).convert("RGB"))
    normalize = time.perf_counter() - t
    t = time.perf_counter()
    for th in thumbs:
        measure(working_image(th), (1024, 1024))
    measures = time.perf_counter() - t
    per_k = 1000 / n
    print(f"images: {n} x 1024x1024 JPEG (q90)")
    print(f"plain decode (Pillow):            {decode * per_k:7.2f} s / 1000 images")
    print(f"ingest normalise incl. measures:  {normalize * per_k:7.2f} s / 1000 images")
    print(f"readiness measures alone:         {measures * per_k:7.2f} s / 1000 images")
    print(f"measures vs ingest without them:  +{measures / (normalize - measures):.1%}")
    print(f"measures vs plain decode:         +{measures / decode:.1%}")


def report_figures(counts: tuple[int, ...]) -> None:
    import numpy as np

    from tailor.bootstrap import build_runtime
    from tailor.config import Settings
    from tailor.services.readiness import dataset_report
    from tailor.store import datasets as dataset_store
    from tailor.store import orgs
    from tailor.store import projects as project_store
    from tailor.store.db import session_scope
    from tailor.store.tables import Image, ImageMeasure

    rng = np.random.default_rng(1)
    with tempfile.TemporaryDirectory() as home:
        settings = Settings(home=Path(home), database_url=f"sqlite:///{home}/t.db", workers=0)  # type: ignore[call-arg]
        rt = build_runtime(settings, migrate=True)
        try:
            for n in counts:
                with session_scope(rt.sessions) as s:
                    org = orgs.get_or_create_org(s, "bench").id
                    p = project_store.add_project(
                        s, org, project_name="p", ip_medium="illustration", ip_type="icons"
                    )
                    ds = dataset_store.add_dataset(s, org, project_id=p.id, name="d", status="draft")
                    rows = [
                        Image(
                            organization_id=org,
                            dataset_id=ds.id,
                            image_name=f"{i}.jpg",
                            blob_key=f"k/{uuid.uuid4().hex}",
                            thumbnail_key="t",
                            width=1024,
                            height=1024,
                            sha256=uuid.uuid4().hex,
                            caption='{"short_description": "a thing on a table"}',
                            caption_source="manual",
                        )
                        for i in range(n)
                    ]
                    s.add_all(rows)
                    s.flush()
                    for r in rows:
                        s.add(
                            ImageMeasure(
                                image_id=r.id,
                                phash=f"{int(rng.integers(0, 2**63)):016x}",
                                sharpness=float(rng.uniform(20, 900)),
                                source_width=1024,
                                source_height=1024,
                            )
                        )
                    ds_id = ds.id
                dataset_report(rt, org, ds_id)  # warm
                t = time.perf_counter()
                dataset_report(rt, org, ds_id)
                print(f"report over {n:5d} images:        {(time.perf_counter() - t) * 1000:7.1f} ms")
        finally:
            rt.close()


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    ingest_figures(n)
    report_figures((1000, 5000))


if __name__ == "__main__":
    main()
