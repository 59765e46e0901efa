"""Training speed and memory: Tailor's trainer (cached latents and text states) against a reference
loop that runs the VAE and the text encoder at every step, as FIBO's published fine-tuning script
does. Same tiny model, same data, same LoRA, same steps; each run in its own process so that the
peak RSS of one does not hide the other's.

    python benchmarks/train.py                 # tiny model on CPU: s/step, peak RSS, ratios
    python benchmarks/train.py --steps 50 --images 12
    python benchmarks/train.py --real-arch     # FIBO's real transformer (random weights), CUDA only

``--real-arch`` builds the real FIBO transformer configuration (8 dual + 38 single blocks, 3072
wide) with random weights in bf16 on CUDA, adds a rank-128 LoRA, and trains at 1024x1024 (4096
latent tokens) with gradient checkpointing: it prints s/step, peak GPU memory and the projected
time of Bria's recipe (1501 steps x 4 accumulated micro-batches). It needs an ~40 GB GPU.
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CAPTION = json.dumps(
    {
        "short_description": "a red square on a red background",
        "objects": [{"description": "a red square", "location": "center"}],
        "background_setting": "plain red",
        "lighting": {"conditions": "soft", "direction": "front", "shadows": "none"},
        "aesthetics": {"composition": "centered", "color_scheme": "red", "mood_atmosphere": "calm"},
        "style_medium": "flat colour illustration",
    }
)


def _images(n: int) -> list[bytes]:
    from PIL import Image

    out = []
    for i in range(n):
        buf = io.BytesIO()
        Image.new("RGB", (256, 256), (190 + 10 * (i % 6), 20 + 4 * i, 25)).save(buf, "PNG")
        out.append(buf.getvalue())
    return out


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_one(mode: str, steps: int, images: int, models_dir: Path, cache_dir: Path) -> dict:
    """Train ``steps`` steps in this process with ``mode`` in {ours, reference}; return figures."""
    import torch
    from diffusers import BriaFiboPipeline

    from tailor.engine.tiny import ensure_tiny_model
    from tailor.engine.training.data import (
        CacheReport,
        Item,
        build_examples,
        encode_caption,
        encode_image,
        load_rgb,
        to_bucket,
    )
    from tailor.engine.training.trainer import TrainConfig, Trainer

    torch.manual_seed(0)
    pipe = BriaFiboPipeline.from_pretrained(ensure_tiny_model(models_dir))
    pipe.set_progress_bar_config(disable=True)
    items = [Item(data, CAPTION + " " * i) for i, data in enumerate(_images(images))]
    config = TrainConfig(
        rank=16,
        learning_rate=1e-4,
        lr_scheduler="constant",
        warmup_steps=0,
        total_steps=steps,
        checkpoint_interval=10**9,
        grad_accumulation=1,
        gradient_checkpointing=False,
    )
    t0 = time.perf_counter()
    report = CacheReport()
    examples = build_examples(pipe, items, cache_dir, f"bench-{mode}", tiny=True, report=report)
    prep_s = time.perf_counter() - t0

    class ReferenceTrainer(Trainer):
        """Encodes the image and the caption at every micro-batch (no cache)."""

        def _micro_batch(self, index: int) -> torch.Tensor:
            n = len(self.examples)
            epoch, pos = divmod(index, n)
            item = items[index % n]
            pixels = to_bucket(load_rgb(item.image), (examples[0].width, examples[0].height))
            latents = encode_image(self.pipe, pixels)
            layers = encode_caption(self.pipe, item.caption)
            fresh = _Fresh(latents, layers)
            saved = self.examples
            self.examples = [fresh] * n
            try:
                return super()._micro_batch(index)
            finally:
                self.examples = saved

    cls = Trainer if mode == "ours" else ReferenceTrainer
    trainer = cls(pipe, examples, config, device="cpu")
    trainer.train_step()  # warm-up step, not timed
    t0 = time.perf_counter()
    for _ in range(steps - 1):
        trainer.train_step()
    step_s = (time.perf_counter() - t0) / max(1, steps - 1)
    return {
        "mode": mode,
        "s_per_step": step_s,
        "prep_s": prep_s,
        "peak_rss_mb": _peak_rss_mb(),
        "cache_bytes_per_image": report.bytes_per_image,
        "latents_bytes_per_image": report.latents_bytes / max(1, report.images),
    }


def fibo_cache_bytes(text_tokens: int = 1000) -> tuple[int, int]:
    """(latents, text states) bytes per image at FIBO's scale: 48 x 64 x 64 float32 latents at
    1024x1024, and SmolLM3-3B's 37 hidden states x tokens x 2048 in bf16."""
    return 48 * 64 * 64 * 4, 37 * text_tokens * 2048 * 2


class _Fresh:
    """An example whose tensors were just computed (the reference loop's per-step encoding)."""

    def __init__(self, latents, layers) -> None:  # type: ignore[no-untyped-def]
        self._t = (latents, layers)

    def load(self):  # type: ignore[no-untyped-def]
        return self._t


def tiny_report(steps: int, images: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        results = {}
        for mode in ("ours", "reference"):
            cmd = [
                sys.executable,
                __file__,
                "--child",
                mode,
                "--steps",
                str(steps),
                "--images",
                str(images),
                "--home",
                tmp,
            ]
            out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
            results[mode] = json.loads(out.strip().splitlines()[-1])
    ours, ref = results["ours"], results["reference"]
    print(f"tiny FIBO on CPU, {images} images, {steps} steps, LoRA rank 16, batch 1")
    print(f"{'':12} {'s/step':>10} {'peak RSS MB':>12} {'one-off cache s':>16}")
    for r in (ours, ref):
        print(f"{r['mode']:12} {r['s_per_step']:10.4f} {r['peak_rss_mb']:12.1f} {r['prep_s']:16.2f}")
    print(f"speed-up (reference s/step / ours): {ref['s_per_step'] / ours['s_per_step']:.2f}x")
    print(f"peak RSS ratio (reference / ours): {ref['peak_rss_mb'] / ours['peak_rss_mb']:.2f}x")
    print(
        f"cache bytes/image (tiny): {ours['cache_bytes_per_image'] / 1e3:.1f} kB "
        f"(latents {ours['latents_bytes_per_image'] / 1e3:.1f} kB)"
    )
    lat, txt = fibo_cache_bytes()
    print(
        f"cache bytes/image (FIBO, 1024x1024, 1000-token caption): latents {lat / 1e6:.2f} MB, "
        f"text states {txt / 1e6:.0f} MB (cached within TAILOR_TRAINING_TEXT_CACHE_BYTES, "
        f"else recomputed); 200 images: {(lat * 200) / 1e9:.2f} GB latents "
        f"+ up to {txt * 200 / 1e9:.0f} GB text"
    )


def real_arch(steps: int, tokens: int, rank: int) -> None:
    """FIBO's real transformer (random weights), bf16 on CUDA, 1024x1024, rank-128 LoRA."""
    import torch
    from diffusers.models.transformers.transformer_bria_fibo import BriaFiboTransformer2DModel

    from tailor.engine.training.trainer import TrainConfig, Trainer

    if not torch.cuda.is_available():
        sys.exit("--real-arch needs a CUDA GPU (it builds FIBO's 8B transformer in bf16)")
    with torch.device("cuda"):
        transformer = BriaFiboTransformer2DModel(
            patch_size=1,
            in_channels=48,
            num_layers=8,
            num_single_layers=38,
            attention_head_dim=128,
            num_attention_heads=24,
            joint_attention_dim=4096,
            text_encoder_dim=2048,
            axes_dims_rope=[16, 56, 56],
        ).to(torch.bfloat16)

    class Pipe:  # what the trainer needs of a pipeline: the transformer
        pass

    pipe = Pipe()
    pipe.transformer = transformer  # type: ignore[attr-defined]
    latents = torch.randn(48, 64, 64)  # 1024x1024 / 16
    layers = torch.randn(37, tokens, 2048, dtype=torch.bfloat16)  # SmolLM3-3B: 36 layers + embeddings
    example = _Fresh(latents, layers)
    config = TrainConfig(rank=rank, total_steps=10**6, checkpoint_interval=10**9, grad_accumulation=4)
    trainer = Trainer(pipe, [example], config, device="cuda")  # type: ignore[list-item]
    trainer.train_step()
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    for _ in range(steps):
        trainer.train_step()
    torch.cuda.synchronize()
    step_s = (time.perf_counter() - t0) / steps
    peak = torch.cuda.max_memory_allocated() / 1024**3
    trainable = sum(p.numel() for p in trainer.params)
    print(f"FIBO transformer (random weights), bf16, 1024x1024, {tokens} text tokens, LoRA rank {rank}")
    print(f"trainable LoRA parameters: {trainable / 1e6:.1f} M")
    print(f"s/step (4 micro-batches): {step_s:.3f}   peak GPU memory: {peak:.1f} GiB")
    print(f"projected recipe (1501 steps): {1501 * step_s / 60:.1f} min of training")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--images", type=int, default=6)
    ap.add_argument("--real-arch", action="store_true")
    ap.add_argument("--tokens", type=int, default=1000, help="--real-arch: caption length in tokens")
    ap.add_argument("--rank", type=int, default=128, help="--real-arch: LoRA rank")
    ap.add_argument("--child", choices=["ours", "reference"], help=argparse.SUPPRESS)
    ap.add_argument("--home", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.real_arch:
        real_arch(args.steps, args.tokens, args.rank)
    elif args.child:
        import torch

        torch.set_num_threads(1)
        home = Path(args.home)
        print(json.dumps(run_one(args.child, args.steps, args.images, home / "models", home / args.child)))
    else:
        tiny_report(args.steps, args.images)


if __name__ == "__main__":
    main()
