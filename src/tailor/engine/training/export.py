"""Export an adapter for download: diffusers and ComfyUI layouts plus a model card, in one zip.

Formats:
- diffusers: the trained file as is (``transformer.<module>.lora_A.weight`` / ``lora_B.weight``,
  LoraConfig in the safetensors header): ``BriaFiboPipeline.load_lora_weights`` loads it.
- ComfyUI: the same tensors under ``diffusion_model.<module>.lora_A.weight`` / ``.lora_B.weight`` with
  a float32 ``diffusion_model.<module>.alpha`` per module: ComfyUI's generic LoRA layout, which its
  loader matches against the diffusion model's own weight names (``diffusion_model.<module>.weight``).
  ComfyUI ports of FIBO keep diffusers' module names (``transformer_blocks.N.attn.to_q`` ...).

The rewrite works on the safetensors container itself (header + raw bytes), so it needs neither
torch nor numpy, keeps bf16 tensors as they are, and streams the tensor data.
"""

from __future__ import annotations

import json
import shutil
import struct
import tempfile
import zipfile
from collections.abc import Iterator
from typing import IO, Any

from tailor.store.blob_base import BlobStore

DIFFUSERS_NAME = "diffusers/pytorch_lora_weights.safetensors"
COMFY_NAME = "comfyui/lora.safetensors"
CARD_NAME = "README.md"
METADATA_KEY = "lora_adapter_metadata"


def read_header(f: IO[bytes]) -> tuple[dict[str, Any], int]:
    """The safetensors header of an open file and the offset where tensor data starts."""
    (n,) = struct.unpack("<Q", f.read(8))
    header = json.loads(f.read(n))
    return header, 8 + n


def lora_alpha(header: dict[str, Any], default_rank: int | None) -> float | None:
    """The LoRA alpha recorded in the header's LoraConfig (diffusers metadata), else the rank."""
    meta = (header.get("__metadata__") or {}).get(METADATA_KEY)
    if meta:
        cfg = {k.removeprefix("transformer."): v for k, v in json.loads(meta).items()}
        if cfg.get("lora_alpha") is not None:
            return float(cfg["lora_alpha"])
        if cfg.get("r") is not None:
            return float(cfg["r"])
    return float(default_rank) if default_rank else None


def comfy_header(header: dict[str, Any], alpha: float | None) -> tuple[dict[str, Any], bytes]:
    """Renamed tensor entries (``transformer.`` -> ``diffusion_model.``) plus appended alpha scalars;
    returns the new header and the bytes to append after the original data."""
    tensors = {k: v for k, v in header.items() if k != "__metadata__"}
    end = max((v["data_offsets"][1] for v in tensors.values()), default=0)
    out: dict[str, Any] = {}
    modules: list[str] = []
    for name, info in tensors.items():
        new = "diffusion_model." + name.removeprefix("transformer.")
        out[new] = info
        if new.endswith(".lora_A.weight"):
            module = new.removesuffix(".lora_A.weight")
            rank = int(info["shape"][0])
            modules.append(module)
            out.setdefault("__ranks__", {})[module] = rank
    ranks = out.pop("__ranks__", {})
    extra = b""
    for module in sorted(modules):
        value = alpha if alpha is not None else float(ranks[module])
        out[f"{module}.alpha"] = {
            "dtype": "F32",
            "shape": [],
            "data_offsets": [end + len(extra), end + len(extra) + 4],
        }
        extra += struct.pack("<f", value)
    out["__metadata__"] = {"format": "pt", "tailor_layout": "comfyui"}
    return out, extra


def _encode_header(header: dict[str, Any]) -> bytes:
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * ((8 - len(raw) % 8) % 8)
    return struct.pack("<Q", len(raw)) + raw


def _chunks(f: IO[bytes], size: int = 1 << 20) -> Iterator[bytes]:
    while chunk := f.read(size):
        yield chunk


def write_comfy(src: IO[bytes], dst: IO[bytes], *, default_rank: int | None = None) -> None:
    """Write the ComfyUI layout of the diffusers adapter ``src`` (positioned at 0) to ``dst``."""
    header, _ = read_header(src)
    new_header, extra = comfy_header(header, lora_alpha(header, default_rank))
    dst.write(_encode_header(new_header))
    for chunk in _chunks(src):
        dst.write(chunk)
    dst.write(extra)


def write_export_zip(blobs: BlobStore, adapter_key: str, dest_key: str, card: str) -> None:
    """Package ``adapter_key`` (both layouts) and ``card`` into a zip stored at ``dest_key``."""
    with tempfile.TemporaryDirectory() as tmp:
        local = f"{tmp}/adapter.safetensors"
        with blobs.open(adapter_key) as src, open(local, "wb") as f:
            shutil.copyfileobj(src, f)
        zpath = f"{tmp}/export.zip"
        with zipfile.ZipFile(zpath, "w", compression=zipfile.ZIP_STORED) as zf:
            zf.write(local, DIFFUSERS_NAME)
            with open(local, "rb") as src, zf.open(COMFY_NAME, "w", force_zip64=True) as dst:
                write_comfy(src, dst)
            zf.writestr(CARD_NAME, card)
        with open(zpath, "rb") as f:
            blobs.put_file(dest_key, f, content_type="application/zip")
