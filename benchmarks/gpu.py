"""FIBO at its true scale on one GPU, in one command: generation, adapters, training, memory.

    python benchmarks/gpu.py                   # CUDA: FIBO's real architecture, random bf16 weights
    python benchmarks/gpu.py --tiny            # CPU: the same sections on the tiny model (seconds)
    python benchmarks/gpu.py --dry-run         # the memory plan only (meta device, no weights)
    python benchmarks/gpu.py --sections plan,generate --json out.json

Nothing is downloaded: the transformer (8 double + 38 single blocks), the SmolLM3-3B text encoder
and the Wan 2.2 VAE are built from their configurations (``engine/memory.py``) with random bf16
weights, with the tiny model's tokenizer. Sections (a registry, ``SECTIONS``; add one with
``@section``):

- ``plan``: the memory planner's figures for generation and training at 1024x1024.
- ``generate``: s/image at 1024x1024, 50 steps with CFG, eager, then with ``torch.compile``.
- ``adapters``: the overhead of switching between two rank-128 adapters (hot-swapped when compiled).
- ``train``: s/step of LoRA training at rank 128 (1024x1024, 4 micro-batches), peak memory, and
  the projected time of Bria's recipe (1501 steps x 4), on one GPU and, as a projection from that
  step (stated in ``projection_assumes``), on 2 and 4 data-parallel GPUs.
- ``fibo2_turbo``: FIBO 2's architecture (random weights) served on 4 turbo steps without guidance,
  s/image at 1024x1024 (``benchmarks/generate.py --family fibo-2 --turbo --random-weights``).
- ``video``: Wan 2.2 TI2V-5B's architecture (random bf16 weights), s/clip at 704p, 121 frames, and
  peak memory (``benchmarks/video.py --real-arch``); it needs about 4 minutes more than the budget
  leaves after the FIBO sections, so run it alone: ``--sections video --budget-s 900``.

Each section records its figures (and the planner's, to compare with what was measured) in one
JSON document, printed at the end. ``--budget-s`` (default 470) skips sections that would start
too late to finish within ~8 minutes on an H100/H200.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))


@dataclass
class Context:
    args: argparse.Namespace
    device: str
    started: float = field(default_factory=time.monotonic)
    results: dict[str, Any] = field(default_factory=dict)
    shared: dict[str, Any] = field(default_factory=dict)  # e.g. the pipeline, built once

    @property
    def tiny(self) -> bool:
        return bool(self.args.tiny)

    def elapsed(self) -> float:
        return time.monotonic() - self.started


@dataclass(frozen=True)
class Section:
    name: str
    run: Callable[[Context], dict[str, Any]]
    estimate_s: float  # about how long it takes on an H100 (for the budget)
    help: str


SECTIONS: dict[str, Section] = {}


def section(name: str, estimate_s: float, help: str) -> Callable[[Callable[[Context], dict[str, Any]]], Any]:
    """Register a benchmark section (run in registration order)."""

    def add(fn: Callable[[Context], dict[str, Any]]) -> Callable[[Context], dict[str, Any]]:
        SECTIONS[name] = Section(name, fn, estimate_s, help)
        return fn

    return add


# --- helpers ------------------------------------------------------------------------------------


def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _peak_gib(device: str) -> float | None:
    import torch

    if not device.startswith("cuda"):
        return None
    return round(torch.cuda.max_memory_allocated() / 1024**3, 2)


def _reset_peak(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def long_prompt(tokenizer: Any, tokens: int) -> str:
    """A structured prompt of about ``tokens`` tokens (FIBO's prompts run to ~1000)."""
    from tailor.engine.fibo_recipe import inference_prompt

    words = "warm golden light falls across a weathered wooden table with ceramic cups and linen".split()
    text, i = "", 0
    while True:
        candidate = text + " " + words[i % len(words)]
        sp = {"short_description": candidate.strip(), "style_medium": "photograph"}
        if len(tokenizer(inference_prompt(json.dumps(sp)))["input_ids"]) > tokens:
            return inference_prompt(
                json.dumps({"short_description": text.strip(), "style_medium": "photograph"})
            )
        text, i = candidate, i + 1


def build_pipeline(ctx: Context) -> Any:
    """The tiny model (``--tiny``), or FIBO's real architecture with random bf16 weights."""
    if "pipe" in ctx.shared:
        return ctx.shared["pipe"]
    from diffusers import BriaFiboPipeline

    from tailor.engine.architectures import random_fibo_pipeline
    from tailor.engine.tiny import ensure_tiny_model

    t0 = time.perf_counter()
    if ctx.tiny:
        pipe = BriaFiboPipeline.from_pretrained(ensure_tiny_model(Path(ctx.shared["tmp"]) / "models"))
    else:
        pipe = random_fibo_pipeline(ctx.device)
    pipe.set_progress_bar_config(disable=True)
    pipe.to(ctx.device)
    ctx.shared["pipe"] = pipe
    ctx.shared["build_s"] = round(time.perf_counter() - t0, 1)
    return pipe


def _gen_size(ctx: Context) -> int:
    return 128 if ctx.tiny else 1024


def _generate_once(ctx: Context, pipe: Any, prompt: str, steps: int) -> float:
    import torch

    size = _gen_size(ctx)
    _sync(ctx.device)
    t0 = time.perf_counter()
    pipe(
        prompt=prompt,
        negative_prompt="",
        width=size,
        height=size,
        num_inference_steps=steps,
        guidance_scale=5.0,
        generator=torch.Generator("cpu").manual_seed(0),
        output_type="pil",
    )
    _sync(ctx.device)
    return time.perf_counter() - t0


def _random_adapter(pipe: Any, rank: int, seed: int, directory: Path) -> bytes:
    """A random LoRA adapter on FIBO's targets, as the trainer writes it (diffusers format)."""
    import torch
    from diffusers import BriaFiboPipeline
    from peft import LoraConfig, get_peft_model_state_dict, inject_adapter_in_model

    from tailor.engine import fibo_recipe as recipe

    config = LoraConfig(r=rank, lora_alpha=rank, target_modules=list(recipe.LORA_TARGET_MODULES))
    model = inject_adapter_in_model(config, _meta_copy(pipe.transformer), adapter_name="x")
    gen = torch.Generator().manual_seed(seed)
    state = {}
    for k, v in get_peft_model_state_dict(model, adapter_name="x").items():
        state[k] = (torch.randn(tuple(v.shape), generator=gen) * 0.01).to(torch.bfloat16)
    meta = {k: (sorted(v) if isinstance(v, set) else v) for k, v in config.to_dict().items()}
    BriaFiboPipeline.save_lora_weights(
        directory, transformer_lora_layers=state, transformer_lora_adapter_metadata=meta
    )
    return (directory / "pytorch_lora_weights.safetensors").read_bytes()


def _adapter_cache(ctx: Context, pipe: Any, *, compile: bool) -> Any:
    """A hot-swap adapter cache over two random adapters "A" and "B" at the benchmark's rank
    (kept in ``ctx.shared``: a compiled transformer has one slot for the whole run)."""
    from tailor.engine.adapters import AdapterCache

    rank = 4 if ctx.tiny else ctx.args.rank
    if not compile:  # prepare_compile already made room for the largest rank
        pipe.enable_lora_hotswap(target_rank=rank)
    tmp = Path(ctx.shared["tmp"])
    files = {}
    for name, seed in (("A", 1), ("B", 2)):
        d = tmp / f"adapter-{name}"
        d.mkdir(exist_ok=True)
        files[name] = _random_adapter(pipe, rank, seed, d)
    cache = AdapterCache(pipe, 4, fetch=lambda key: files[key], hotswap=True, compile=compile)
    ctx.shared["adapter_cache"] = cache
    return cache


def _meta_copy(transformer: Any) -> Any:
    import torch
    from diffusers.models.transformers.transformer_bria_fibo import BriaFiboTransformer2DModel

    with torch.device("meta"):
        return BriaFiboTransformer2DModel(**dict(transformer.config))


# --- sections -----------------------------------------------------------------------------------


@section("plan", 20, "the memory planner at 1024x1024 (FIBO's architecture on the meta device)")
def plan(ctx: Context) -> dict[str, Any]:
    from tailor.engine import memory

    params = memory.fibo_parameters()
    rank = ctx.args.rank
    return {
        "parameters": {
            "transformer": params.transformer,
            "text_encoder": params.text_encoder,
            "vae": params.vae,
            f"lora_rank_{rank}": params.lora_per_rank * rank,
        },
        "generation_1024_cfg_gib": memory.generation_plan(params, lora_rank=rank).as_gib(),
        f"training_rank_{rank}_1024_gib": memory.training_plan(params, rank=rank).as_gib(),
        f"training_rank_{rank}_1024_text_encoder_on_gpu_gib": memory.training_plan(
            params, rank=rank, text_encoder_on_device=True
        ).as_gib(),
    }


@section("generate", 150, "s/image at 1024x1024, 50 steps, CFG: eager, then torch.compile")
def generate(ctx: Context) -> dict[str, Any]:
    from tailor.engine.speed import apply_attention_backend, prepare_compile

    pipe = build_pipeline(ctx)
    steps = ctx.args.steps
    backend = apply_attention_backend(pipe, ctx.args.attention, ctx.device)
    prompt = long_prompt(pipe.tokenizer, 60 if ctx.tiny else 1000)
    _reset_peak(ctx.device)
    _generate_once(ctx, pipe, prompt, 2)  # warm-up
    eager = _generate_once(ctx, pipe, prompt, steps)
    out: dict[str, Any] = {
        "build_s": ctx.shared.get("build_s"),
        "attention_backend": backend,
        "size": _gen_size(ctx),
        "steps": steps,
        "eager_s_per_image": round(eager, 2),
        "eager_peak_gib": _peak_gib(ctx.device),
    }
    ctx.shared["prompt"] = prompt
    if ctx.args.no_compile or not prepare_compile(pipe, ctx.device):
        out["compiled"] = "skipped (CPU or --no-compile)"
        return out
    ctx.shared["compiled"] = True
    # as a worker serves with TAILOR_COMPILE: the first adapter makes the hot-swap slot, then the
    # transformer compiles (the adapters section swaps others into the same slot)
    cache = _adapter_cache(ctx, pipe, compile=True)
    t0 = time.perf_counter()
    cache.activate("A", 1.0)
    _generate_once(ctx, pipe, prompt, 2)
    out["compile_warmup_s"] = round(time.perf_counter() - t0, 1)
    out["compiled_s_per_image"] = round(_generate_once(ctx, pipe, prompt, steps), 2)
    out["compiled_peak_gib"] = _peak_gib(ctx.device)
    return out


@section("adapters", 90, "overhead of switching adapters (rank 128, hot-swapped when compiled)")
def adapters(ctx: Context) -> dict[str, Any]:
    from tailor.engine.adapters import AdapterCache

    pipe = build_pipeline(ctx)
    rank = 4 if ctx.tiny else ctx.args.rank
    prompt = ctx.shared.get("prompt") or long_prompt(pipe.tokenizer, 60 if ctx.tiny else 1000)
    hot = True  # eager too: one slot, weights swapped in place
    cache: AdapterCache = ctx.shared.get("adapter_cache") or _adapter_cache(ctx, pipe, compile=False)
    steps = 1 if ctx.tiny else 4
    times: dict[str, list[float]] = {"switch": [], "same": [], "activate": []}
    for key in ("A", "B", "A", "A") if ctx.tiny else ("A", "B", "A", "B", "B"):
        t0 = time.perf_counter()
        switched = cache.loaded_keys[-1:] != [key]
        cache.activate(key, 1.0)
        _sync(ctx.device)
        times["activate"].append(time.perf_counter() - t0)
        elapsed = _generate_once(ctx, pipe, prompt, steps) + times["activate"][-1]
        times["switch" if switched else "same"].append(elapsed)
    switch = min(times["switch"][1:] or times["switch"])  # the first load also prepares the slot
    same = min(times["same"]) if times["same"] else None
    return {
        "rank": rank,
        "hot_swap": hot,
        "steps_per_image": steps,
        "activate_s": [round(t, 3) for t in times["activate"]],
        "image_after_switch_s": round(switch, 2),
        "image_same_adapter_s": None if same is None else round(same, 2),
        "switch_overhead_s": None if same is None else round(switch - same, 2),
    }


@section("train", 150, "LoRA training s/step at rank 128, 1024x1024, peak memory, projected recipe time")
def train(ctx: Context) -> dict[str, Any]:
    import torch

    from tailor.engine.training.data import Example, _save_atomic
    from tailor.engine.training.trainer import TrainConfig, Trainer

    pipe = build_pipeline(ctx)
    if ctx.shared.get("compiled"):  # train an eager transformer: a fresh one, same architecture
        ctx.shared.pop("pipe")
        del pipe
        torch.cuda.empty_cache() if ctx.device.startswith("cuda") else None
        pipe = build_pipeline(ctx)
    rank = 4 if ctx.tiny else ctx.args.rank
    side = 8 if ctx.tiny else 64  # latent side: 1024 / 16
    tokens = 60 if ctx.tiny else 1000
    tmp = Path(ctx.shared["tmp"])
    layers_n = pipe.text_encoder.config.num_hidden_layers + 1
    hidden = pipe.text_encoder.config.hidden_size
    lat, txt = tmp / "lat.safetensors", tmp / "txt.safetensors"
    _save_atomic(
        {"latents": torch.randn(48 if not ctx.tiny else pipe.transformer.config.in_channels, side, side)}, lat
    )
    _save_atomic({"hidden_states": torch.randn(layers_n, tokens, hidden, dtype=pipe.text_encoder.dtype)}, txt)
    example = Example(lat, txt, "{}", side * 16, side * 16)
    accumulation = 1 if ctx.tiny else 4
    config = TrainConfig(
        rank=rank, total_steps=10**6, checkpoint_interval=10**9, grad_accumulation=accumulation
    )
    pipe.vae.to("cpu")
    pipe.text_encoder.to("cpu")
    _reset_peak(ctx.device)
    trainer = Trainer(pipe, [example], config, device=ctx.device)
    trainer.train_step()  # warm-up
    _sync(ctx.device)
    n = ctx.args.train_steps
    t0 = time.perf_counter()
    for _ in range(n):
        trainer.train_step()
    _sync(ctx.device)
    step_s = (time.perf_counter() - t0) / n
    return {
        "rank": rank,
        "latent_tokens": side * side,
        "text_tokens": tokens,
        "micro_batches_per_step": accumulation,
        "trainable_parameters": sum(p.numel() for p in trainer.params),
        "s_per_step": round(step_s, 3),
        "peak_gib": _peak_gib(ctx.device),
        "projected_recipe_min": round(1501 * step_s / 60, 1),
        "projected_recipe_min_by_gpus": projected_by_gpus(step_s, accumulation, trainer.params),
        "projection_assumes": (
            "data parallel (TAILOR_TRAINING_DEVICES): each of N GPUs runs accumulation/N of a step's "
            f"micro-batches at the measured speed, plus one all-reduce of the fp32 LoRA gradients at "
            f"{ALL_REDUCE_GB_S:.0f} GB/s bus bandwidth (NVLink; not measured); N divides the micro-batches"
        ),
    }


ALL_REDUCE_GB_S = 100.0  # an assumed ring all-reduce bus bandwidth between GPUs of one host


def projected_by_gpus(step_s: float, accumulation: int, params: list[Any]) -> dict[str, float]:
    """Projected minutes of Bria's recipe (1501 steps) on N GPUs, for each N that divides the
    micro-batches of a step: a projection from the one-GPU step, not a measurement."""
    grad_bytes = sum(p.numel() for p in params) * 4
    out = {}
    for n in (1, 2, 4, 8):
        if accumulation % n:
            continue
        reduce_s = 0.0 if n == 1 else 2 * grad_bytes * (n - 1) / n / (ALL_REDUCE_GB_S * 1e9)
        out[str(n)] = round(1501 * (step_s / n + reduce_s) / 60, 1)
    return out


# --- main ---------------------------------------------------------------------------------------


def _script(ctx: Context, argv: list[str], timeout_s: float) -> dict[str, Any]:
    """Run another benchmark script of this folder; its printed figures come back as lines."""
    import subprocess

    here = Path(__file__).resolve().parent
    done = subprocess.run(
        [sys.executable, str(here / argv[0]), *argv[1:]],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    out: dict[str, Any] = {"command": " ".join(argv), "returncode": done.returncode, "output": lines[-12:]}
    if done.returncode:
        out["stderr"] = done.stderr.strip().splitlines()[-5:]
    return out


@section("fibo2_turbo", 90, "FIBO 2 turbo s/image at 1024², 4 steps, no guidance (benchmarks/generate.py)")
def fibo2_turbo(ctx: Context) -> dict[str, Any]:
    if ctx.tiny:  # its own script covers the tiny path; here only the GPU run matters
        return {"skipped": "GPU only (benchmarks/generate.py --family fibo-2 --turbo runs it on CPU)"}
    argv = ["generate.py", "--family", "fibo-2", "--turbo", "--random-weights", "--size", "1024"]
    return _script(ctx, [*argv, "--requests", "4", "--adapters", "2", "--naive-requests", "1"], 600)


@section("video", 240, "Wan 2.2 TI2V-5B architecture: s/clip at 704p, 121 frames (benchmarks/video.py)")
def video(ctx: Context) -> dict[str, Any]:
    if ctx.tiny:  # the architecture on the meta device: checks the section's wiring quickly
        return _script(ctx, ["video.py", "--real-arch", "--dry-run"], 300)
    return _script(ctx, ["video.py", "--real-arch"], 900)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tiny", action="store_true", help="the tiny model on CPU (a quick check)")
    parser.add_argument("--dry-run", action="store_true", help="the memory plan only")
    parser.add_argument("--sections", default=",".join(SECTIONS), help=f"of: {', '.join(SECTIONS)}")
    parser.add_argument("--steps", type=int, default=None, help="denoising steps (50; tiny: 2)")
    parser.add_argument("--train-steps", type=int, default=None, help="timed optimizer steps (5; tiny: 1)")
    parser.add_argument("--rank", type=int, default=128)
    parser.add_argument("--attention", default="auto", help="TAILOR_ATTENTION_BACKEND value")
    parser.add_argument("--no-compile", action="store_true")
    parser.add_argument("--budget-s", type=float, default=470.0)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    args.steps = args.steps or (2 if args.tiny else 50)
    args.train_steps = args.train_steps or (1 if args.tiny else 5)
    names = ["plan"] if args.dry_run else [n.strip() for n in args.sections.split(",") if n.strip()]
    unknown = [n for n in names if n not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")

    import torch

    device = "cpu" if args.tiny or args.dry_run else ("cuda" if torch.cuda.is_available() else "")
    if not device:
        parser.error("no CUDA device: run with --tiny (CPU) or --dry-run (plan only)")
    ctx = Context(args=args, device=device)
    report: dict[str, Any] = {
        "device": torch.cuda.get_device_name() if device == "cuda" else "cpu",
        "sections": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        ctx.shared["tmp"] = tmp
        for name in names:
            sec = SECTIONS[name]
            if not args.tiny and ctx.elapsed() + sec.estimate_s > args.budget_s:
                report["sections"][name] = {"skipped": f"would end past the {args.budget_s:.0f} s budget"}
                continue
            t0 = time.perf_counter()
            try:
                figures = sec.run(ctx)
            except Exception as e:  # one failing section does not lose the others' figures
                figures = {"error": f"{type(e).__name__}: {e}"}
            figures["section_s"] = round(time.perf_counter() - t0, 1)
            report["sections"][name] = figures
            print(f"[{name}] {json.dumps(figures)}", flush=True)
    report["total_s"] = round(ctx.elapsed(), 1)
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text)
    return report


if __name__ == "__main__":
    main()
