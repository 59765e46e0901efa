"""Caption throughput through a litellm provider: sequential vs. concurrent (``vlm_concurrency``).

Starts a local OpenAI-compatible server on 127.0.0.1 that answers every chat completion after a
fixed delay (default 200 ms), then captions N generated images three ways and prints images/s:

1. sequentially (one call at a time),
2. with ``Bridge.caption_many`` at the configured concurrency,
3. through the real job queue: N ``caption_image`` jobs run by ONE in-process worker, whose handler
   batches queued siblings of the same dataset.

Usage: python benchmarks/captions.py [--images 200] [--delay 0.2] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from tailor.bootstrap import build_runtime  # noqa: E402
from tailor.bridge.service import Bridge, make_provider  # noqa: E402
from tailor.config import Settings  # noqa: E402
from tailor.domain.jobs import CAPTION_IMAGE, CaptionImage  # noqa: E402
from tailor.jobs.queue import enqueue  # noqa: E402
from tailor.store import orgs  # noqa: E402
from tailor.store.db import session_scope  # noqa: E402
from tailor.store.tables import Dataset, Project  # noqa: E402
from tailor.store.tables import Image as ImageRow  # noqa: E402
from tailor.worker.run import run_pending  # noqa: E402

CAPTION = json.dumps(
    {
        "short_description": "A colored square on a plain ground.",
        "objects": [{"description": "a square", "location": "center", "relationship": "alone"}],
        "background_setting": "a plain ground",
        "lighting": {"conditions": "even", "direction": "front"},
        "aesthetics": {"composition": "centered", "color_scheme": "two colors", "mood_atmosphere": "plain"},
        "context": "benchmark image",
    }
)


def serve(delay_s: float) -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            time.sleep(delay_s)
            body = {
                "id": "bench",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": "bench-vlm",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": CAPTION},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            }
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/v1"


def images(n: int) -> list[bytes]:
    out = []
    for i in range(n):
        arr = np.zeros((64, 64, 3), np.uint8)
        arr[:] = (i * 37 % 256, i * 91 % 256, i * 13 % 256)
        arr[20:44, 20:44] = (255 - i % 256, 40, 90)
        buf = io.BytesIO()
        Image.fromarray(arr).save(buf, "PNG")
        out.append(buf.getvalue())
    return out


def settings(home: Path, url: str, concurrency: int) -> Settings:
    return Settings(  # type: ignore[call-arg]
        home=home,
        vlm="openai/bench-vlm",
        vlm_base_url=url,
        vlm_api_key="bench",
        vlm_concurrency=concurrency,
        vlm_cache_size=0,
        vlm_timeout_s=30,
    )


def queue_run(home: Path, s: Settings, data: list[bytes]) -> float:
    """Seconds for one in-process worker to run len(data) caption_image jobs."""
    rt = build_runtime(s.model_copy(update={"home": home}), migrate=True)
    with session_scope(rt.sessions) as ses:
        org = orgs.get_or_create_org(ses, "bench")
        p = Project(organization_id=org.id, project_name="b", ip_medium="illustration", ip_type="other")
        ses.add(p)
        ses.flush()
        ds = Dataset(organization_id=org.id, project_id=p.id, name="b", captions_update_status="in_progress")
        ses.add(ds)
        ses.flush()
        for i, d in enumerate(data):
            key = f"bench/{i}.png"
            rt.blobs.put(key, d)
            row = ImageRow(
                organization_id=org.id,
                dataset_id=ds.id,
                image_name=key,
                blob_key=key,
                thumbnail_key=key,
                width=64,
                height=64,
                sha256=hashlib.sha256(d).hexdigest(),
                caption_source="pending",
            )
            ses.add(row)
            ses.flush()
            enqueue(
                ses, CAPTION_IMAGE, CaptionImage(image_id=row.id, dataset_id=ds.id), organization_id=org.id
            )
    t = time.perf_counter()
    run_pending(rt.queue, rt.job_context())
    elapsed = time.perf_counter() - t
    with rt.sessions() as ses:
        done = (
            ses.query(ImageRow)
            .filter(ImageRow.caption_source == "automatic", ImageRow.caption.isnot(None))
            .count()
        )
    rt.close()
    assert done == len(data), f"only {done} of {len(data)} captioned"
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=200)
    ap.add_argument("--delay", type=float, default=0.2, help="server reply delay in seconds")
    ap.add_argument("--concurrency", type=int, default=8)
    args = ap.parse_args()
    server, url = serve(args.delay)
    data = images(args.images)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        seq = Bridge(make_provider(settings(home, url, 1)), settings(home, url, 1))
        t = time.perf_counter()
        for d in data:
            seq.caption(d)
        t_seq = time.perf_counter() - t

        conc_settings = settings(home, url, args.concurrency)
        conc = Bridge(make_provider(conc_settings), conc_settings)
        t = time.perf_counter()
        results = conc.caption_many(data)
        t_conc = time.perf_counter() - t
        assert all(isinstance(r, str) for r in results)

        t_queue = queue_run(home / "queue", conc_settings, data)
    server.shutdown()

    n = args.images
    print(f"{n} images, server delay {args.delay * 1000:.0f} ms, concurrency {args.concurrency}")
    print(f"sequential:               {n / t_seq:7.1f} images/s  ({t_seq:.1f} s)")
    print(f"caption_many:             {n / t_conc:7.1f} images/s  ({t_conc:.1f} s)  x{t_seq / t_conc:.1f}")
    print(f"job queue, one worker:    {n / t_queue:7.1f} images/s  ({t_queue:.1f} s)  x{t_seq / t_queue:.1f}")


if __name__ == "__main__":
    main()
