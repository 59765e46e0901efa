"""Generation latency with LoRA adapters: warm pipeline + adapter cache vs. a naive server.

Prints ms (or s) per request for
  (a) the same adapter every time,
  (b) alternating among K adapters (K <= cache size: each stays loaded, only activation changes),
  (c) reloading the pipeline (and the adapter) for every request, as a naive server would,
and the ratios b/a and c/a. The target is b/a <= 1.10.

Default: the tiny model on CPU (128x128, 20 steps)::

    .venv/bin/python benchmarks/generate.py

On a GPU host, the real FIBO architecture with random weights (no download; bf16 on CUDA), which
also prints peak GPU memory::

    .venv/bin/python benchmarks/generate.py --base-model briaai/FIBO --random-weights \\
        --size 1024 --steps 50 --requests 5

With real weights (a hub id or a local diffusers dir), drop ``--random-weights``.

Every base-model family (``--family fibo`` default, ``--family fibo-2``). FIBO 2 turbo at 1024²
(4 steps, no guidance) with its real architecture and random weights, on a GPU::

    .venv/bin/python benchmarks/generate.py --family fibo-2 --random-weights --turbo \
        --size 1024 --requests 5

``--turbo`` takes the turbo checkpoint's defaults (4 steps, guidance 1); the turbo weights have
the trained model's architecture, so random weights time both alike.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from tailor.config import Settings  # noqa: E402
from tailor.engine.adapters import transformer_metadata  # noqa: E402
from tailor.engine.architectures import random_fibo_pipeline  # noqa: E402
from tailor.engine.generation import Generator, ImageRequest  # noqa: E402
from tailor.store.blobs import open_blob_store  # noqa: E402

SP = (
    '{"short_description": "A red house by a lake at sunset.", "objects": [], '
    '"background_setting": "a calm lake", "style_medium": "photograph"}'
)
TARGETS = ("to_q", "to_k", "to_v", "to_out.0", "add_q_proj", "add_k_proj", "add_v_proj", "to_add_out")

# FIBO 2's published sizes: the diffusers defaults of its transformer (8.1B) and of the Flux 2
# VAE, and Qwen3-VL-4B as its text encoder (36 layers of 2560: cap_feat_dim = 3 * 2560).
FIBO2_TEXT = {
    "vocab_size": 151936,
    "hidden_size": 2560,
    "intermediate_size": 9728,
    "num_hidden_layers": 36,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "head_dim": 128,
    "rope_parameters": {
        "rope_type": "default",
        "rope_theta": 5_000_000.0,
        "mrope_section": [24, 20, 20],
        "mrope_interleaved": True,
    },
}
FIBO2_VISION = {
    "depth": 24,
    "hidden_size": 1024,
    "intermediate_size": 4096,
    "num_heads": 16,
    "out_hidden_size": 2560,
    "deepstack_visual_indexes": [5, 11, 17],
}


def random_fibo2_pipeline(device: str) -> Any:
    """FIBO 2's real architecture with random bf16 weights, built directly on ``device``."""
    import torch
    from diffusers import (
        AutoencoderKLFlux2,
        BriaFibo2Pipeline,
        BriaFibo2Transformer2DModel,
        FlowMatchEulerDiscreteScheduler,
    )
    from transformers import Qwen3VLConfig, Qwen3VLForConditionalGeneration

    from tailor.engine.families.fibo2 import SCHEDULER_CONFIG, build_tiny_fibo2

    processor = build_tiny_fibo2(0).processor  # a small tokenizer: the timing is the models'
    ids = {t: processor.tokenizer.convert_tokens_to_ids(t) for t in ("<|image_pad|>", "<|video_pad|>")}
    config = Qwen3VLConfig(
        text_config=FIBO2_TEXT,
        vision_config=FIBO2_VISION,
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=processor.tokenizer.convert_tokens_to_ids("<|vision_start|>"),
        vision_end_token_id=processor.tokenizer.convert_tokens_to_ids("<|vision_end|>"),
    )
    torch.manual_seed(0)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.bfloat16)
    try:
        with torch.device(device):
            transformer = BriaFibo2Transformer2DModel().eval()
            text_encoder = Qwen3VLForConditionalGeneration(config).eval()
            vae = AutoencoderKLFlux2().eval()
    finally:
        torch.set_default_dtype(previous)
    pipe = BriaFibo2Pipeline(
        transformer=transformer,
        scheduler=FlowMatchEulerDiscreteScheduler(**SCHEDULER_CONFIG),
        vae=vae,
        text_encoder=text_encoder,
        processor=processor,
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe


def random_adapter(transformer: Any, seed: int, rank: int, targets: tuple[str, ...] = TARGETS) -> bytes:
    """A LoRA file in diffusers' format for ``transformer``'s attention projections, random A and B."""
    import json

    import torch
    from safetensors.torch import save

    gen = torch.Generator().manual_seed(seed)
    dtype = transformer.dtype
    tensors: dict[str, Any] = {}
    for name, found in transformer.named_modules():
        module = getattr(found, "base_layer", found)  # a layer that already holds LoRA adapters
        if "lora_" in name or name.endswith("base_layer"):
            continue
        if isinstance(module, torch.nn.Linear) and any(name == t or name.endswith("." + t) for t in targets):
            a = torch.randn(rank, module.in_features, generator=gen) / module.in_features**0.5
            b = torch.randn(module.out_features, rank, generator=gen) * 0.01
            tensors[f"transformer.{name}.lora_A.weight"] = a.to(dtype).contiguous()
            tensors[f"transformer.{name}.lora_B.weight"] = b.to(dtype).contiguous()
    config = {"r": rank, "lora_alpha": rank, "target_modules": sorted(targets)}
    metadata = json.dumps(transformer_metadata(config))
    return save(tensors, metadata={"format": "pt", "lora_adapter_metadata": metadata})


def timed(gen: Generator, requests: list[ImageRequest]) -> list[float]:
    out = []
    for req in requests:
        t = time.perf_counter()
        gen.generate(req)
        out.append(time.perf_counter() - t)
    return out


def sync_device() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base-model", default="tiny", help="tiny | hub id | local diffusers dir")
    ap.add_argument("--random-weights", action="store_true", help="real FIBO architecture, random weights")
    ap.add_argument("--size", type=int, default=None, help="square side in pixels (multiple of 16)")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--requests", type=int, default=12, help="timed requests per scenario")
    ap.add_argument("--adapters", type=int, default=3, help="K adapters for scenario (b)")
    ap.add_argument("--rank", type=int, default=16)
    ap.add_argument("--naive-requests", type=int, default=3, help="requests for scenario (c)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--family", default="fibo", choices=["fibo", "fibo-2"], help="the base-model family")
    ap.add_argument("--turbo", action="store_true", help="FIBO 2 turbo: 4 steps, no guidance by default")
    ap.add_argument("--guidance", type=float, default=None, help="guidance scale (default per checkpoint)")
    args = ap.parse_args()
    from tailor.engine.families import get_family

    family = get_family(args.family)
    serving = family.serving_for(args.turbo)
    if args.steps == ap.get_default("steps") and (args.turbo or args.family != "fibo"):
        args.steps = serving.default_steps
    guidance = args.guidance if args.guidance is not None else serving.default_guidance
    # adapters on the family's LoRA targets (FIBO keeps the attention projections it always timed)
    targets = TARGETS if family.name == "fibo" else family.lora_targets

    import torch

    tmp = Path(tempfile.mkdtemp(prefix="tailor-bench-"))
    other = family.name != "fibo"
    settings = Settings(
        home=Path(os.environ.get("TAILOR_HOME", "./.tailor")),  # where the tiny models are kept
        base_model="tiny" if other else args.base_model,
        base_models=f"{family.name}={args.base_model}" if other else "",
        device=args.device,
        adapter_cache_size=max(args.adapters, 1),
        max_steps=None,
    )
    blobs = open_blob_store(f"file://{tmp / 'blobs'}")
    real = args.random_weights or args.base_model != "tiny"
    size = args.size or (1024 if real else 128)
    cuda = torch.cuda.is_available() and args.device in ("auto", "cuda") or args.device.startswith("cuda")

    t = time.perf_counter()
    if args.random_weights and not other:
        gen = Generator(settings, blobs, pipe=random_fibo_pipeline("cuda" if cuda else "cpu"))
    elif args.random_weights:
        gen = Generator(settings, blobs)
        gen.loaded(family.name, pipe=random_fibo2_pipeline("cuda" if cuda else "cpu"))
    else:
        gen = Generator(settings, blobs)
    entry = gen.loaded(family.name)
    load_s = time.perf_counter() - t
    print(f"family: {family.title}{' turbo' if args.turbo else ''}, guidance: {guidance:g}")
    print(f"base model: {args.base_model}{' (random weights)' if args.random_weights else ''}")
    threads = torch.get_num_threads()
    print(f"device: {entry.pipe.device}, dtype: {entry.pipe.transformer.dtype}, torch threads: {threads}")
    print(f"image: {size}x{size}, steps: {args.steps}, pipeline load: {load_s:.2f}s")

    keys = []
    for i in range(max(args.adapters, 1)):
        key = f"adapters/{i}.safetensors"
        blobs.put(key, random_adapter(entry.pipe.transformer, seed=i + 1, rank=args.rank, targets=targets))
        keys.append(key)

    def req(key: str | None, seed: int) -> ImageRequest:
        return ImageRequest(
            SP,
            seed,
            steps=args.steps,
            guidance_scale=guidance,
            adapter_key=key,
            size=(size, size),
            family=family.name,
        )

    # warm up: load every adapter once, run the kernels once
    for key in keys:
        gen.generate(req(key, 0))
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    sync_device()

    # Scenarios (a) and (b) run in interleaved rounds so that load from other processes affects both alike.
    n = args.requests
    rounds = max(1, n // 4)
    per_round = max(1, n // rounds)
    same: list[float] = []
    alternating: list[float] = []
    activation = {"a": [], "b": []}  # time spent selecting the adapter (the switching cost itself)
    original_activate = entry.adapters.activate
    scenario = ["a"]

    def timed_activate(key: str | None, scale: float = 1.0, **kw: Any) -> None:
        t = time.perf_counter()
        original_activate(key, scale, **kw)
        activation[scenario[0]].append(time.perf_counter() - t)

    entry.adapters.activate = timed_activate  # type: ignore[method-assign]
    for r in range(rounds):
        base = r * per_round
        scenario[0] = "a"
        same += timed(gen, [req(keys[0], base + i) for i in range(per_round)])
        scenario[0] = "b"
        alternating += timed(gen, [req(keys[(base + i) % len(keys)], base + i) for i in range(per_round)])
    entry.adapters.activate = original_activate  # type: ignore[method-assign]
    assert entry.adapters.loads == len(keys), "scenario (b) must not reload adapters"

    naive: list[float] = []
    naive_load: list[float] = []
    if args.random_weights:
        print("(c) skipped: random weights cannot be reloaded from disk (pass a saved dir instead)")
    else:
        for i in range(args.naive_requests):
            t = time.perf_counter()
            fresh = Generator(settings, blobs)
            fresh.loaded(family.name).adapters.activate(keys[i % len(keys)], 1.0)
            naive_load.append(time.perf_counter() - t)
            fresh.generate(req(keys[i % len(keys)], i))
            naive.append(time.perf_counter() - t)
            del fresh

    med = statistics.median
    a, b = med(same), med(alternating)
    unit, scale = ("s", 1.0) if a > 2 else ("ms", 1000.0)

    def line(label: str, values: list[float]) -> str:
        return (
            f"{label} {med(values) * scale:9.1f} {unit}/request "
            f"(median of {len(values)}, min {min(values) * scale:.1f})"
        )

    print(line("(a) same adapter:          ", same))
    print(line(f"(b) alternating {len(keys)} adapters:", alternating))
    print(f"    b/a = {b / a:.3f} (medians), {min(alternating) / min(same):.3f} (minima)  (target <= 1.10)")
    act_a, act_b = med(activation["a"]) * 1000, med(activation["b"]) * 1000
    print(f"    adapter activation: {act_a:.2f} ms (a), {act_b:.2f} ms (b) per request")
    if naive:
        c = med(naive)
        print(
            f"(c) reload per request:     {c * scale:9.1f} {unit}/request (median of {len(naive)}; "
            f"pipeline + adapter load {med(naive_load) * scale:.1f} {unit})"
        )
        print(f"    c/a = {c / a:.2f} (medians), {min(naive) / min(same):.2f} (minima)")
    if cuda:
        print(f"peak GPU memory: {torch.cuda.max_memory_allocated() / 2**30:.2f} GiB")
        print(f"s/image: {a:.2f}")


if __name__ == "__main__":
    main()
