"""Training data: aspect-ratio buckets, image preprocessing, and the latent / text-embedding cache.

The VAE latents of every image and the text-encoder hidden states of every caption are computed
once and kept on disk (safetensors, keyed by a content hash of the input and the base model), so a
training step only reads two small files and never runs the VAE or the text encoder. A second run
on the same dataset (or a resumed run) finds everything already cached.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from PIL import Image, ImageOps

from tailor.engine.families import Family
from tailor.engine.families.fibo import FIBO

MAX_SEQUENCE_LENGTH = FIBO.max_sequence_length


@dataclass(frozen=True)
class Item:
    """One training image with its caption (a structured prompt JSON string)."""

    image: bytes
    caption: str
    sha256: str | None = None

    def image_hash(self) -> str:
        return self.sha256 or hashlib.sha256(self.image).hexdigest()


@dataclass(frozen=True)
class Example:
    """A cached training example: where its latents and text states are, and its bucket."""

    latents_path: Path
    text_path: Path
    caption: str
    width: int
    height: int

    def load(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(latents [C, h, w], text hidden states [layers, tokens, hidden]) as stored."""
        from safetensors.torch import load_file

        lat = load_file(str(self.latents_path))["latents"]
        txt = load_file(str(self.text_path))["hidden_states"]
        return lat, txt


def bucket_for(width: int, height: int, tiny: bool, family: Family = FIBO) -> tuple[int, int]:
    """The family's resolution whose aspect ratio is closest to the image's (tiny sizes for tiny)."""
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
    """Resize to cover ``size`` and center-crop; a [3, H, W] tensor in [-1, 1]."""
    w, h = size
    scale = max(w / img.width, h / img.height)
    rw, rh = max(w, round(img.width * scale)), max(h, round(img.height * scale))
    img = img.resize((rw, rh), Image.Resampling.BICUBIC)
    left, top = (rw - w) // 2, (rh - h) // 2
    img = img.crop((left, top, left + w, top + h))
    t = torch.frombuffer(bytearray(img.tobytes()), dtype=torch.uint8).reshape(h, w, 3)
    return t.permute(2, 0, 1).float().div(127.5).sub(1.0)


def _key(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _save_atomic(tensors: dict[str, torch.Tensor], path: Path) -> None:
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(fd)
    try:
        save_file({k: v.contiguous().cpu() for k, v in tensors.items()}, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@torch.no_grad()
def encode_image(pipe: Any, pixels: torch.Tensor, family: Family = FIBO) -> torch.Tensor:
    """Normalised VAE latents [C, h, w] of one image (the space the transformer denoises)."""
    return family.encode_image(pipe, pixels)


@torch.no_grad()
def encode_caption(pipe: Any, caption: str, family: Family = FIBO) -> torch.Tensor:
    """The text-encoder states of one caption, serialised as the family's inference does."""
    return family.encode_caption(pipe, caption)


def build_examples(
    pipe: Any, items: Sequence[Item], cache_dir: Path, model_id: str, *, tiny: bool, family: Family = FIBO
) -> list[Example]:
    """Encode what the cache lacks (VAE and text encoder run here only) and list the examples."""
    dtype = str(pipe.transformer.dtype)
    if family is not FIBO:  # FIBO's cache keys are kept as they were
        model_id = f"{family.name}:{model_id}"
    out: list[Example] = []
    for item in items:
        img = load_rgb(item.image)
        size = bucket_for(img.width, img.height, tiny, family)
        lat_path = (
            cache_dir / "latents" / (_key(model_id, dtype, item.image_hash(), f"{size}") + ".safetensors")
        )
        txt_path = (
            cache_dir
            / "text"
            / (_key(model_id, dtype, str(family.max_sequence_length), item.caption) + ".safetensors")
        )
        if not lat_path.exists():
            _save_atomic({"latents": encode_image(pipe, to_bucket(img, size), family)}, lat_path)
        if not txt_path.exists():
            _save_atomic({"hidden_states": encode_caption(pipe, item.caption, family)}, txt_path)
        out.append(Example(lat_path, txt_path, item.caption, size[0], size[1]))
    return out
