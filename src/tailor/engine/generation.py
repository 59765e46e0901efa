"""The generation service of a worker: one warm pipeline, its adapter cache, one request at a time."""

from __future__ import annotations

import io
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tailor.config import Settings
from tailor.store.blob_base import BlobNotFound, BlobStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImageRequest:
    """What one generation needs; ``adapter_key`` None means the base model alone."""

    structured_prompt: str
    seed: int
    aspect_ratio: str = "1:1"
    steps: int = 50
    guidance_scale: float = 5.0
    negative_prompt: str | None = None
    adapter_key: str | None = None
    adapter_sha256: str | None = None  # the adapter's content hash: what the adapter cache is keyed by
    influence: float = 1.0
    size: tuple[int, int] | None = None  # (width, height) instead of the aspect ratio's size


def encode_png(image: Any) -> bytes:
    """PNG bytes with no metadata (no timestamps), so equal pixels give equal bytes."""
    buf = io.BytesIO()
    image.convert("RGB").save(buf, format="PNG", compress_level=6)
    return buf.getvalue()


class Generator:
    """A loaded base pipeline with an adapter cache; :meth:`generate` is serialised by a lock."""

    def __init__(self, settings: Settings, blobs: BlobStore, pipe: Any | None = None) -> None:
        from tailor.engine.adapters import AdapterCache
        from tailor.engine.pipeline import is_tiny, load_pipeline
        from tailor.engine.speed import apply_attention_backend, prepare_compile

        self.settings = settings
        self.tiny = is_tiny(settings)
        self.pipe: Any = pipe if pipe is not None else load_pipeline(settings)
        self.lock = threading.Lock()
        pipeline: Any = self.pipe
        device = str(pipeline.transformer.device)
        self.attention = apply_attention_backend(self.pipe, settings.attention_backend, device)
        self.compiled = bool(settings.compile) and prepare_compile(self.pipe, device)
        self.adapters = AdapterCache(
            self.pipe,
            settings.adapter_cache_size,
            fetch=blobs.get,
            fetch_sidecar=self._sidecar(blobs),
            hotswap=self.compiled,
        )

    @staticmethod
    def _sidecar(blobs: BlobStore) -> Any:
        def fetch(key: str) -> bytes | None:
            try:
                return blobs.get(f"{key}.json")
            except (BlobNotFound, KeyError, FileNotFoundError):
                return None

        return fetch

    def prune_adapters(self, live_keys: Callable[[list[str]], set[str]]) -> int:
        """Unload adapters of deleted models or checkpoints (see :meth:`AdapterCache.prune`)."""
        with self.lock:
            return self.adapters.prune(live_keys)

    def steps_for(self, steps: int) -> int:
        """The steps to run: as asked, capped by ``settings.max_steps`` when set."""
        cap = self.settings.max_steps
        return min(steps, cap) if cap else steps

    def generate(self, req: ImageRequest, on_step: Callable[[int, int], None] | None = None) -> bytes:
        """Generate one image and return it as PNG bytes; ``on_step(step, total)`` after each step
        (it may raise to stop the generation, e.g. on cancel)."""
        import torch

        from tailor.engine.fibo_recipe import inference_prompt, negative_prompt
        from tailor.engine.resolutions import size_for
        from tailor.engine.speed import use_vae_tiling

        width, height = req.size or size_for(req.aspect_ratio, self.tiny)
        with self.lock:
            started = time.perf_counter()
            self.adapters.activate(req.adapter_key, req.influence, sha256=req.adapter_sha256)
            generator = torch.Generator(device="cpu").manual_seed(int(req.seed))
            steps = self.steps_for(req.steps)
            use_vae_tiling(self.pipe, width, height, self.settings.vae_tiling_pixels)

            def step_end(_pipe: Any, i: int, _t: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
                if on_step is not None:
                    on_step(i + 1, steps)
                return kwargs

            out = self.pipe(
                prompt=inference_prompt(req.structured_prompt),
                negative_prompt=negative_prompt(req.negative_prompt or ""),
                width=width,
                height=height,
                num_inference_steps=steps,
                guidance_scale=float(req.guidance_scale),
                generator=generator,
                output_type="pil",
                callback_on_step_end=step_end,
            )
            png = encode_png(out.images[0])
            log.info(
                "generated %dx%d in %.2fs (adapter=%s, influence=%s)",
                width,
                height,
                time.perf_counter() - started,
                req.adapter_key,
                req.influence,
            )
        return png
