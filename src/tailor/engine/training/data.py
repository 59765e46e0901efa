"""Training data: FIBO's resolution buckets, image preprocessing, and the training cache.

What is cached, and why (see docs/fibo-recipe.md):

- **VAE latents, always.** Encoding an image is the expensive step and its result is small
  (48 x h/16 x w/16 floats: ~0.8 MB at 1024x1024), so every image is encoded once, in float32,
  and kept on disk (safetensors).
- **Text-encoder states, by a byte budget.** The transformer reads every hidden state of the
  text encoder (37 layers x tokens x 2048 with SmolLM3-3B: ~150 MB for a 1000-token caption),
  while recomputing them costs about 2% of a training micro-batch. A run caches the states of as
  many captions as ``text_budget`` bytes hold (in dataset order) and recomputes the others on the
  device at each use.

The cache of a dataset lives under ``<root>/<dataset>/<model key>/``; :func:`prune_cache` removes
the directories of datasets that are gone and of base models no longer configured, and a run
removes the entries it no longer uses, so the cache never holds more than one dataset's worth
per dataset and never more text states than the budget.

Images are streamed: an item's bytes are fetched only when its latents are not cached yet, and
one image at a time.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from PIL import Image, ImageOps

from tailor.engine import fibo_recipe as recipe
from tailor.engine.families import Family
from tailor.engine.families.fibo import FIBO

MAX_SEQUENCE_LENGTH = recipe.MAX_SEQUENCE_LENGTH
# changes whenever the preprocessing changes, so that latents made another way are never reused
HEADER_BYTES = 1024  # a safetensors header of one tensor is well under this
PREPROCESS_VERSION = f"buckets-1k/{recipe.RESIZE_FILTER}/vae-{recipe.VAE_ENCODE_DTYPE}/v2"


@dataclass(frozen=True)
class Item:
    """One training image with its caption (a structured prompt JSON string). ``image`` is the
    bytes, or a function that fetches them (called only if the latents are not cached)."""

    image: bytes | Callable[[], bytes]
    caption: str
    sha256: str | None = None

    def data(self) -> bytes:
        return self.image() if callable(self.image) else self.image

    def image_hash(self) -> str:
        if self.sha256:
            return self.sha256
        return hashlib.sha256(self.data()).hexdigest()


@dataclass(frozen=True)
class Example:
    """A training example: its cached latents, its caption as the text encoder reads it, and its
    cached text states (``None``: recomputed at each use)."""

    latents_path: Path
    text_path: Path | None
    caption: str
    width: int
    height: int

    def latents(self) -> torch.Tensor:
        from safetensors.torch import load_file

        return load_file(str(self.latents_path))["latents"]

    def load(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(latents [C, h, w], cached text hidden states [layers, tokens, hidden] or None)."""
        from safetensors.torch import load_file

        txt = load_file(str(self.text_path))["hidden_states"] if self.text_path is not None else None
        return self.latents(), txt


@dataclass
class CacheReport:
    """What :func:`build_examples` did: for the benchmark and the logs."""

    images: int = 0
    latents_bytes: int = 0
    text_bytes: int = 0
    text_cached: int = 0
    text_recomputed: int = 0
    encoded_images: int = 0
    encoded_captions: int = 0
    estimated_text_bytes: list[int] = field(default_factory=list)

    @property
    def bytes_per_image(self) -> float:
        return (self.latents_bytes + self.text_bytes) / max(1, self.images)


def bucket_for(width: int, height: int, tiny: bool, family: Family = FIBO) -> tuple[int, int]:
    """The family's training resolution for an image of this size (tiny buckets for the tiny
    model): FIBO's reference table, else the family's size closest in aspect ratio."""
    if family is FIBO:
        return recipe.training_resolution(width, height, tiny=tiny)
    table = family.tiny_sizes if tiny else family.sizes
    ratio = math.log(width / height)
    return min(table.values(), key=lambda wh: abs(math.log(wh[0] / wh[1]) - ratio))


def load_rgb(data: bytes) -> Image.Image:
    """Decode, apply EXIF orientation, composite transparency on black, as RGB."""
    img: Image.Image = Image.open(io.BytesIO(data))
    img = ImageOps.exif_transpose(img) or img
    if img.mode in ("RGBA", "LA", "P"):
        img = img.convert("RGBA")
        black = Image.new("RGBA", img.size, (0, 0, 0, 255))
        img = Image.alpha_composite(black, img)
    return img.convert("RGB")


def to_bucket(img: Image.Image, size: tuple[int, int]) -> torch.Tensor:
    """Resize (bilinear) to cover ``size`` and center-crop, as FIBO's fine-tuning script does;
    a [3, H, W] tensor in [-1, 1]."""
    w, h = size
    rw, rh = recipe.cover_size(img.width, img.height, size)
    img = img.resize((rw, rh), Image.Resampling.BILINEAR)
    left, top = int(round((rw - w) / 2.0)), int(round((rh - h) / 2.0))
    img = img.crop((left, top, left + w, top + h))
    t = torch.frombuffer(bytearray(img.tobytes()), dtype=torch.uint8).reshape(h, w, 3)
    return t.permute(2, 0, 1).float().div(127.5).sub(1.0)


def _key(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def model_key(model_id: str, dtype: str) -> str:
    """The cache directory name of a base model (and the dtype it runs in)."""
    return _key(model_id, dtype)[:20]


def _save_atomic(
    tensors: dict[str, torch.Tensor], path: Path, metadata: dict[str, str] | None = None
) -> None:
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(fd)
    try:
        save_file({k: v.contiguous().cpu() for k, v in tensors.items()}, tmp, metadata=metadata)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def vae_in_float32(pipe: Any) -> Iterator[None]:
    """Run the VAE in float32 for a while (FIBO's fine-tuning encodes in full precision)."""
    vae = pipe.vae
    before = vae.dtype
    if before != torch.float32:
        vae.to(torch.float32)
    try:
        yield
    finally:
        if before != torch.float32:
            vae.to(before)


@torch.no_grad()
def encode_image(pipe: Any, pixels: torch.Tensor, family: Family = FIBO) -> torch.Tensor:
    """Normalised VAE latents [C, h, w] of one image (the space the transformer denoises)."""
    return family.encode_image(pipe, pixels)


@torch.no_grad()
def encode_caption(pipe: Any, caption: str, family: Family = FIBO) -> torch.Tensor:
    """The text-encoder states of one caption (already in the family's training form), as the
    cache stores them (FIBO: every hidden state, [layers, tokens, hidden])."""
    return family.encode_caption(pipe, caption)


def text_state_bytes(pipe: Any, caption: str, family: Family = FIBO) -> int:
    """Bytes the text states of ``caption`` take on disk, from its token count (no encoding),
    plus room for the file's header. Other families: not known before encoding (the budget then
    counts the files written)."""
    if family is not FIBO:
        return HEADER_BYTES
    tokens = len(pipe.tokenizer(caption, truncation=True, max_length=MAX_SEQUENCE_LENGTH)["input_ids"])
    cfg = pipe.text_encoder.config
    element = torch.tensor([], dtype=pipe.text_encoder.dtype).element_size()
    return int(max(1, tokens) * (cfg.num_hidden_layers + 1) * cfg.hidden_size * element) + HEADER_BYTES


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _remove_unused(directory: Path, keep: set[Path]) -> None:
    if not directory.is_dir():
        return
    for path in directory.iterdir():
        if path not in keep:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


def _latents_meta(path: Path) -> tuple[int, int] | None:
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
        return int(meta["width"]), int(meta["height"])
    except Exception:  # a file from before sizes were recorded, or a damaged one: encode again
        return None


def build_examples(
    pipe: Any,
    items: Iterable[Item],
    cache_dir: Path,
    model_id: str,
    *,
    tiny: bool,
    text_budget: int | None = None,
    report: CacheReport | None = None,
    family: Family = FIBO,
) -> list[Example]:
    """Encode what the cache lacks (the VAE, and the text encoder within ``text_budget`` bytes;
    ``None``: no limit) and list the examples. ``cache_dir`` is this dataset's cache; the entries
    of another base model, and those no example uses, are removed."""
    report = report if report is not None else CacheReport()
    dtype = str(pipe.transformer.dtype)
    if family is not FIBO:  # FIBO's cache keys are kept as they were
        model_id = f"{family.name}:{model_id}"
    root = Path(cache_dir) / model_key(model_id, dtype)
    if Path(cache_dir).is_dir():  # the base model changed: its cache goes
        _remove_unused(Path(cache_dir), {root})
    lat_dir, txt_dir = root / "latents", root / "text"
    out: list[Example] = []
    used_lat: set[Path] = set()
    used_txt: set[Path] = set()
    spent = 0
    with vae_in_float32(pipe):
        for item in items:
            caption = family.training_caption(item.caption)
            lat_path = lat_dir / (_key(PREPROCESS_VERSION, item.image_hash()) + ".safetensors")
            size = _latents_meta(lat_path) if lat_path.exists() else None
            if size is None:
                img = load_rgb(item.data())
                size = bucket_for(img.width, img.height, tiny, family)
                meta = {"width": str(size[0]), "height": str(size[1])}
                _save_atomic({"latents": encode_image(pipe, to_bucket(img, size), family)}, lat_path, meta)
                del img
                report.encoded_images += 1
            used_lat.add(lat_path)
            report.latents_bytes += _file_size(lat_path)

            txt_path: Path | None = txt_dir / (
                _key(str(family.max_sequence_length), caption) + ".safetensors"
            )
            assert txt_path is not None
            need = _file_size(txt_path) if txt_path.exists() else text_state_bytes(pipe, caption, family)
            report.estimated_text_bytes.append(need)
            if text_budget is not None and txt_path not in used_txt and spent + need > text_budget:
                txt_path = None
                report.text_recomputed += 1
            else:
                if txt_path not in used_txt:
                    if not txt_path.exists():
                        _save_atomic({"hidden_states": encode_caption(pipe, caption, family)}, txt_path)
                        report.encoded_captions += 1
                    spent += _file_size(txt_path)
                    used_txt.add(txt_path)
                report.text_cached += 1
            report.images += 1
            out.append(Example(lat_path, txt_path, caption, size[0], size[1]))
    _remove_unused(lat_dir, used_lat)
    _remove_unused(txt_dir, used_txt)
    report.text_bytes = spent
    return out


def prune_cache(root: Path, live_datasets: set[str]) -> list[str]:
    """Remove the cache directories under ``root`` of datasets not in ``live_datasets``; returns
    the names removed."""
    root = Path(root)
    if not root.is_dir():
        return []
    removed = []
    for path in root.iterdir():
        if path.name not in live_datasets:
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
            removed.append(path.name)
    return removed


def dataset_cache_dir(root: Path, dataset_id: int | str) -> Path:
    return Path(root) / str(dataset_id)


def total_bytes(paths: Sequence[Path]) -> int:
    return sum(_file_size(p) for p in paths)
