"""The generation service of a worker: a warm pipeline per base-model family (each loaded on first
use, so a worker needs only the weights of the families it serves), each with its adapter cache;
one request at a time.

FIBO 2 models are served with the turbo weights when ``TAILOR_FIBO2_TURBO`` is set: the adapter
trained on the 30-step model is loaded into the turbo transformer, which has the same modules.
The same pipelines edit: a request with ``images`` passes them (and ``mask``) to the pipeline.
"""

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
    family: str = "fibo"  # the base-model family (a model's training_version)
    images: tuple[bytes, ...] = ()  # images to edit, in order (<image_1>, ...): an edit when set
    mask: bytes | None = None  # white on black: the region of the single image to regenerate


def _image(data: bytes, mode: str = "RGB") -> Any:
    from PIL import Image, ImageOps

    img: Image.Image = Image.open(io.BytesIO(data))
    img = ImageOps.exif_transpose(img) or img
    return img.convert(mode)


@dataclass
class Loaded:
    """One family's pipeline as loaded in this worker, with its adapter cache."""

    family: Any
    pipe: Any
    adapters: Any
    tiny: bool
    turbo: bool


def encode_png(image: Any) -> bytes:
    """PNG bytes with no metadata (no timestamps), so equal pixels give equal bytes."""
    buf = io.BytesIO()
    image.convert("RGB").save(buf, format="PNG", compress_level=6)
    return buf.getvalue()


class Generator:
    """Loaded base pipelines with adapter caches; :meth:`generate` is serialised by a lock."""

    def __init__(self, settings: Settings, blobs: BlobStore, pipe: Any | None = None) -> None:
        """``pipe``: FIBO's pipeline, already loaded; otherwise every family loads on first use."""
        from tailor.engine.families import DEFAULT_FAMILY

        self.settings = settings
        self.blobs = blobs
        self.lock = threading.Lock()
        self._loaded: dict[str, Loaded] = {}
        if pipe is not None:
            self.loaded(DEFAULT_FAMILY, pipe=pipe)

    def loaded(self, family_name: str, pipe: Any | None = None) -> Loaded:
        """The family's pipeline, loaded on first use (raises ``BaseModelUnavailable``)."""
        from tailor.engine.adapters import AdapterCache
        from tailor.engine.families import get_family
        from tailor.engine.pipeline import is_tiny, load_pipeline, serves_turbo
        from tailor.engine.speed import apply_attention_backend, prepare_compile

        found = self._loaded.get(family_name)
        if found is not None:
            return found
        family = get_family(family_name)
        turbo = serves_turbo(self.settings, family)
        if pipe is None:
            pipe = load_pipeline(self.settings, family, turbo=turbo)
        device = str(pipe.transformer.device)
        self.attention = apply_attention_backend(pipe, self.settings.attention_backend, device)
        compiled = bool(self.settings.compile) and prepare_compile(pipe, device)
        cache = AdapterCache(
            pipe,
            self.settings.adapter_cache_size,
            fetch=self.blobs.get,
            fetch_sidecar=self._sidecar(self.blobs),
            hotswap=compiled,
            compile=compiled,
        )
        entry = Loaded(family, pipe, cache, is_tiny(self.settings, family, turbo=turbo), turbo)
        self._loaded[family_name] = entry
        return entry

    @property
    def pipe(self) -> Any:
        """FIBO's pipeline."""
        return self.loaded("fibo").pipe

    @property
    def adapters(self) -> Any:
        """FIBO's adapter cache."""
        return self.loaded("fibo").adapters

    @property
    def tiny(self) -> bool:
        return self.loaded("fibo").tiny

    @staticmethod
    def _sidecar(blobs: BlobStore) -> Any:
        def fetch(key: str) -> bytes | None:
            try:
                return blobs.get(f"{key}.json")
            except (BlobNotFound, KeyError, FileNotFoundError):
                return None

        return fetch

    @property
    def loaded_families(self) -> list[str]:
        """The families whose pipelines this generator holds now."""
        return list(self._loaded)

    def release(self) -> None:
        """Drop every loaded pipeline with its adapters (waiting for a generation in progress);
        the next generation loads its family again."""
        with self.lock:
            for entry in self._loaded.values():
                entry.adapters.clear()
            self._loaded.clear()

    def prune_adapters(self, live_keys: Callable[[list[str]], set[str]]) -> int:
        """Unload adapters of deleted models or checkpoints (see :meth:`AdapterCache.prune`)."""
        with self.lock:
            return sum(entry.adapters.prune(live_keys) for entry in self._loaded.values())

    def steps_for(self, steps: int) -> int:
        """The steps to run: as asked, capped by ``settings.max_steps`` when set."""
        cap = self.settings.max_steps
        return min(steps, cap) if cap else steps

    def generate(self, req: ImageRequest, on_step: Callable[[int, int], None] | None = None) -> bytes:
        """Generate (or, with ``req.images``, edit) one image and return it as PNG bytes;
        ``on_step(step, total)`` after each step (it may raise to stop, e.g. on cancel)."""
        import torch

        from tailor.engine.speed import use_vae_tiling

        with self.lock:
            entry = self.loaded(req.family)
            family = entry.family
            width, height = req.size or family.size_for(req.aspect_ratio, entry.tiny)
            started = time.perf_counter()
            entry.adapters.activate(req.adapter_key, req.influence, sha256=req.adapter_sha256)
            generator = torch.Generator(device="cpu").manual_seed(int(req.seed))
            steps = self.steps_for(req.steps)
            if width is not None and height is not None:
                use_vae_tiling(entry.pipe, width, height, self.settings.vae_tiling_pixels)

            def step_end(_pipe: Any, i: int, _t: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
                if on_step is not None:
                    on_step(i + 1, steps)
                return kwargs

            extra: dict[str, Any] = family.pipe_kwargs(req.negative_prompt)
            if req.images:
                extra["image"] = [_image(b) for b in req.images]
                if req.mask is not None:
                    extra["mask"] = _image(req.mask, "L").resize(extra["image"][0].size)
                if req.size is None:  # an edit keeps the first image's aspect ratio
                    width = height = None
            out = entry.pipe(
                prompt=family.inference_prompt(req.structured_prompt),
                width=width,
                height=height,
                num_inference_steps=steps,
                guidance_scale=float(req.guidance_scale),
                generator=generator,
                output_type="pil",
                callback_on_step_end=step_end,
                **extra,
            )
            png = encode_png(out.images[0])
            log.info(
                "%s %s in %.2fs (adapter=%s, influence=%s, turbo=%s)",
                "edited" if req.images else "generated",
                family.title,
                time.perf_counter() - started,
                req.adapter_key,
                req.influence,
                entry.turbo,
            )
        return png
