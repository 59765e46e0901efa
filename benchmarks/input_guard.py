"""What the input rules cost per request body: ``input_guard.json_problem`` on typical bodies,
next to ``json.loads`` of the same bytes (which the route does anyway).

    .venv/bin/python benchmarks/input_guard.py [--image-mb 50]

- small: a project body (the common case: a plain look at the bytes, no parse);
- image: a JSON upload with a base64 image of ``--image-mb`` MB (no parse either);
- prompt: a generation body with a structured prompt (escapes and brackets: parsed and walked);
- wide: 200 000 short strings in one list (the worst case per byte for the walk).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import time
from collections.abc import Callable

from tailor.api.input_guard import json_problem


def _best_ms(fn: Callable[[], object], runs: int) -> float:
    best = float("inf")
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--image-mb", type=int, default=50)
    args = parser.parse_args()
    prompt = json.dumps(
        {"short_description": "a red house by a lake", "objects": [{"description": "é"}] * 20}
    )
    bodies = {
        "small": json.dumps({"project_name": "Lora", "ip_medium": "illustration", "ip_type": "other"}),
        "image": json.dumps({"file": base64.b64encode(os.urandom(args.image_mb * 3 // 4 * 2**20)).decode()}),
        "prompt": json.dumps({"structured_prompt": prompt, "prompt": "at dusk", "seed": 7}),
        "wide": json.dumps({"images": ["abcd"] * 200_000}),
    }
    print(f"{'body':<8}{'bytes':>12}{'guard ms':>12}{'json.loads ms':>16}")
    for name, text in bodies.items():
        raw = text.encode()
        runs = 5 if len(raw) > 2**20 else 50
        guard = _best_ms(lambda raw=raw: json_problem(raw), runs)  # type: ignore[misc]
        parse = _best_ms(lambda raw=raw: json.loads(raw), runs)  # type: ignore[misc]
        assert json_problem(raw) is None
        print(f"{name:<8}{len(raw):>12}{guard:>12.3f}{parse:>16.3f}")


if __name__ == "__main__":
    main()
