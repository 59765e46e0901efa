"""Image-to-video speed and memory: seconds per 5-second clip and peak memory.

    python benchmarks/video.py                       # tiny Wan model on CPU: s/clip, encode share, RSS
    python benchmarks/video.py --clips 5
    python benchmarks/video.py --real-arch           # Wan 2.2 TI2V-5B's real architecture, CUDA only
    python benchmarks/video.py --real-arch --dry-run # the same built on the meta device: what it would run

``--real-arch`` builds Wan 2.2 TI2V-5B's published configuration (a 30-layer, 3072-wide
``WanTransformer3DModel``, the Wan 2.2 VAE with 48 latent channels, a UMT5-XXL text encoder) with
random weights in bf16 on CUDA, and renders one 5-second clip the way Tailor does: 1280x704 (704p),
121 frames at 24 fps, 50 steps with classifier-free guidance, then the MP4 encode. It prints
s/clip, the encode's share and peak GPU memory. The published anchor for the real weights is about
9 minutes per 720p clip on a consumer 24 GB GPU. ``run_gpu()`` is the entry point for the
one-command GPU benchmark (``benchmarks/gpu.py``).
"""

from __future__ import annotations

import argparse
import io
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tailor.engine.architectures import WAN22_VAE

# Wan 2.2 TI2V-5B (Wan-AI/Wan2.2-TI2V-5B-Diffusers), as published.
TI2V_TRANSFORMER: dict[str, Any] = {
    "patch_size": (1, 2, 2),
    "num_attention_heads": 24,
    "attention_head_dim": 128,
    "in_channels": 48,
    "out_channels": 48,
    "text_dim": 4096,
    "freq_dim": 256,
    "ffn_dim": 14336,
    "num_layers": 30,
    "cross_attn_norm": True,
    "qk_norm": "rms_norm_across_heads",
    "eps": 1e-6,
    "rope_max_seq_len": 1024,
}
TI2V_VAE = WAN22_VAE  # the same Wan 2.2 VAE as FIBO's
UMT5_XXL: dict[str, Any] = {
    "vocab_size": 256384,
    "d_model": 4096,
    "d_kv": 64,
    "d_ff": 10240,
    "num_layers": 24,
    "num_heads": 64,
    "relative_attention_num_buckets": 32,
    "relative_attention_max_distance": 128,
    "feed_forward_proj": "gated-gelu",
    "dense_act_fn": "gelu_new",
    "is_gated_act": True,
    "tie_word_embeddings": False,
    "pad_token_id": 0,
    "eos_token_id": 1,
    "decoder_start_token_id": 0,
}
WIDTH, HEIGHT, STEPS = 1280, 704, 50


def _picture(width: int, height: int) -> bytes:
    from PIL import Image, ImageDraw

    im = Image.new("RGB", (width, height), (40, 90, 160))
    draw = ImageDraw.Draw(im)
    draw.ellipse((width // 3, height // 4, 2 * width // 3, 3 * height // 4), fill=(240, 160, 40))
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def tiny(clips: int) -> dict[str, float]:
    """s/clip of the tiny model on CPU, through Tailor's VideoGenerator (load, render, encode)."""
    from tailor.config import Settings
    from tailor.engine.video import generator as gen_module
    from tailor.engine.video.generator import VideoGenerator, VideoRequest

    encode_s = [0.0]
    encode = gen_module.encode_mp4

    def timed_encode(frames: Any, fps: int) -> bytes:
        t0 = time.perf_counter()
        try:
            return encode(frames, fps)
        finally:
            encode_s[0] += time.perf_counter() - t0

    gen_module.encode_mp4 = timed_encode  # type: ignore[assignment]
    with tempfile.TemporaryDirectory() as home:
        t0 = time.perf_counter()
        video = VideoGenerator(Settings(home=Path(home), video_model="tiny", device="cpu"))
        build_s = time.perf_counter() - t0
        image = _picture(96, 64)
        video.generate(VideoRequest(image, "a scene drifts", seed=0))  # warm-up
        encode_s[0] = 0.0
        t0 = time.perf_counter()
        for i in range(clips):
            clip = video.generate(VideoRequest(image, "a scene drifts", seed=i + 1))
        per_clip = (time.perf_counter() - t0) / clips
    figures = {
        "build_and_load_s": build_s,
        "s_per_clip": per_clip,
        "encode_share": encode_s[0] / (per_clip * clips),
        "peak_rss_mb": _peak_rss_mb(),
    }
    print(
        f"tiny Wan 2.2 TI2V on CPU: {clip.width}x{clip.height}, {clip.frames} frames at {clip.fps} fps, "
        f"{video.steps()} steps"
    )
    figures["encode_704p_s"] = encode_real_size()
    print(f"first build + load: {build_s:.1f} s")
    print(f"s/clip: {per_clip:.3f}  (MP4 encode {100 * figures['encode_share']:.1f}%)  peak RSS: "
          f"{figures['peak_rss_mb']:.0f} MB")  # fmt: skip
    print(f"MP4 encode of a 121-frame 1280x704 clip (moving shapes): {figures['encode_704p_s']:.1f} s")
    return figures


def encode_real_size() -> float:
    """Seconds to encode 121 frames of 1280x704 (shapes moving over a gradient) with Tailor's settings."""
    import numpy as np

    from tailor.engine.video.mp4 import encode_mp4

    y, x = np.mgrid[0:704, 0:1280]
    frames = np.empty((121, 704, 1280, 3), dtype=np.uint8)
    for i in range(121):
        frames[i, ..., 0] = (x + 4 * i) % 256
        frames[i, ..., 1] = (y // 3 + i) % 256
        frames[i, ..., 2] = 128
        cx = 200 + 6 * i
        frames[i, 250:450, cx : cx + 200] = (240, 160, 40)
    t0 = time.perf_counter()
    encode_mp4(frames, 24)
    return time.perf_counter() - t0


def build_real_arch(device: str) -> Any:
    """Wan 2.2 TI2V-5B's pipeline with random weights on ``device`` (``meta``: nothing allocated)."""
    import torch
    from diffusers import (
        AutoencoderKLWan,
        UniPCMultistepScheduler,
        WanImageToVideoPipeline,
        WanTransformer3DModel,
    )
    from transformers import UMT5Config, UMT5EncoderModel

    from tailor.engine.video.tiny import SCHEDULER_CONFIG, build_tokenizer

    with torch.device(device):
        transformer = WanTransformer3DModel(**TI2V_TRANSFORMER)
        vae = AutoencoderKLWan(**TI2V_VAE)
        text_encoder = UMT5EncoderModel(UMT5Config(**UMT5_XXL))
    if device != "meta":
        transformer, text_encoder = transformer.to(torch.bfloat16), text_encoder.to(torch.bfloat16)
        vae = vae.to(torch.float32)  # the Wan VAE runs in float32, as the published examples load it
    return WanImageToVideoPipeline(
        tokenizer=build_tokenizer(),
        text_encoder=text_encoder.eval(),
        vae=vae.eval(),
        scheduler=UniPCMultistepScheduler(**SCHEDULER_CONFIG),
        transformer=transformer.eval(),
        expand_timesteps=True,
    )


def _params(module: Any) -> int:
    return sum(p.numel() for p in module.parameters())


def real_arch(dry_run: bool, steps: int = STEPS) -> dict[str, float]:
    """One 704p, 121-frame clip on Wan 2.2 TI2V-5B's architecture with random bf16 weights."""
    import torch

    from tailor.engine.video.generator import NEGATIVE_PROMPT, first_frame
    from tailor.engine.video.mp4 import encode_mp4
    from tailor.engine.video.profile import WAN22_TI2V_5B as PROFILE

    frames = PROFILE.frames()
    width, height = PROFILE.size_for(WIDTH, HEIGHT)
    latent = (48, (frames - 1) // 4 + 1, height // 16, width // 16)
    tokens = latent[1] * (latent[2] // 2) * (latent[3] // 2)
    pipe = build_real_arch("meta" if dry_run else "cuda")
    sizes = {name: _params(getattr(pipe, name)) for name in ("transformer", "text_encoder", "vae")}
    print("Wan 2.2 TI2V-5B architecture, random weights")
    for name, n in sizes.items():
        print(f"  {name}: {n / 1e9:.2f} B parameters")
    print(
        f"clip: {width}x{height}, {frames} frames at {PROFILE.fps} fps ({frames / PROFILE.fps:.2f} s), "
        f"{steps} steps with guidance {PROFILE.guidance_scale} (2 transformer passes per step)"
    )
    print(f"latents {latent}: {tokens} transformer tokens per pass")
    weights_gib = (2 * (sizes["transformer"] + sizes["text_encoder"]) + 4 * sizes["vae"]) / 1024**3
    print(f"weights: {weights_gib:.1f} GiB (bf16 transformer and text encoder, float32 VAE)")
    figures: dict[str, float] = {"weights_gib": weights_gib, "tokens": float(tokens)}
    if dry_run:
        print("dry run: would measure s/clip (render + MP4 encode), the encode's share and peak GPU memory")
        return figures
    if not torch.cuda.is_available():
        sys.exit("--real-arch needs a CUDA GPU (use --dry-run to see what it would run)")
    pipe.set_progress_bar_config(disable=True)
    image = first_frame(_picture(WIDTH, HEIGHT), width, height)
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    out = pipe(
        image=image,
        prompt="A round orange robot waves at the camera. Smooth, continuous motion.",
        negative_prompt=NEGATIVE_PROMPT,
        width=width,
        height=height,
        num_frames=frames,
        num_inference_steps=steps,
        guidance_scale=PROFILE.guidance_scale,
        generator=torch.Generator(device="cpu").manual_seed(0),
        output_type="np",
    )
    torch.cuda.synchronize()
    render_s = time.perf_counter() - t0
    import numpy as np

    video = np.nan_to_num(np.asarray(out.frames[0], dtype=np.float32))
    t1 = time.perf_counter()
    mp4 = encode_mp4(np.clip(video * 255.0 + 0.5, 0, 255).astype(np.uint8), PROFILE.fps)
    encode_s = time.perf_counter() - t1
    peak = torch.cuda.max_memory_allocated() / 1024**3
    figures.update(
        {"s_per_clip": render_s + encode_s, "render_s": render_s, "encode_s": encode_s, "peak_gib": peak}
    )
    print(f"s/clip: {render_s + encode_s:.1f} (render {render_s:.1f}, MP4 encode {encode_s:.1f}; "
          f"{len(mp4) / 1e6:.1f} MB)  peak GPU memory: {peak:.1f} GiB")  # fmt: skip
    print(f"{render_s / steps:.2f} s per step; the published anchor for real weights: ~540 s/clip on 24 GB")
    return figures


def run_gpu() -> dict[str, float]:
    """The GPU benchmark's video part: Wan 2.2 TI2V-5B's architecture, one 704p 121-frame clip."""
    return real_arch(dry_run=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clips", type=int, default=3, help="tiny: clips to time after a warm-up")
    ap.add_argument("--real-arch", action="store_true")
    ap.add_argument("--dry-run", action="store_true", help="--real-arch on the meta device (no GPU)")
    ap.add_argument("--steps", type=int, default=STEPS, help="--real-arch: denoising steps")
    args = ap.parse_args()
    if args.real_arch:
        real_arch(args.dry_run, args.steps)
    else:
        tiny(args.clips)


if __name__ == "__main__":
    main()
