"""upload_model's LoRA check and conversion, and the dataset download's zip build.

    .venv/bin/python benchmarks/contract.py [--layers 500] [--rank 64] [--images 500]

- check: ``check_lora`` on a header of ``--layers`` LoRA'd 3072x3072 layers (FIBO's hidden size),
  header only, as upload_model runs it before reading any tensor.
- convert: ``write_adapter`` (ComfyUI layout with alphas -> diffusers layout with a LoraConfig) of
  a rank ``--rank`` file over 100 such layers, MB/s.
- export: ``dataset_export.build`` of ``--images`` 64 KB images on the disk blob store, images/s.
"""

from __future__ import annotations

import argparse
import io
import os
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

from tailor.engine.lora_import import check_file, check_lora, write_adapter
from tailor.services.dataset_export import Export, build
from tailor.store.blobs import open_blob_store

HIDDEN = 3072


def _check(layers: int, rank: int) -> None:
    shapes = {f"blocks.{i}.attn.to_q": (HIDDEN, HIDDEN) for i in range(layers)}
    header: dict[str, object] = {}
    offset = 0
    for i in range(layers):
        for half, shape in (("lora_A", [rank, HIDDEN]), ("lora_B", [HIDDEN, rank])):
            size = rank * HIDDEN * 2
            header[f"transformer.blocks.{i}.attn.to_q.{half}.weight"] = {
                "dtype": "BF16", "shape": shape, "data_offsets": [offset, offset + size],
            }  # fmt: skip
            offset += size
    started = time.perf_counter()
    runs = 20
    for _ in range(runs):
        check_lora(header, shapes, max_rank=512)
    ms = (time.perf_counter() - started) / runs * 1000
    print(f"check: {layers} layers, rank {rank}: {ms:.1f} ms per header")


def _convert(rank: int, tmp: Path) -> None:
    import torch
    from safetensors.torch import save_file

    layers = 100
    shapes = {f"blocks.{i}.attn.to_q": (HIDDEN, HIDDEN) for i in range(layers)}
    tensors = {}
    for i in range(layers):
        tensors[f"diffusion_model.blocks.{i}.attn.to_q.lora_A.weight"] = torch.randn(rank, HIDDEN)
        tensors[f"diffusion_model.blocks.{i}.attn.to_q.lora_B.weight"] = torch.randn(HIDDEN, rank)
        tensors[f"diffusion_model.blocks.{i}.attn.to_q.alpha"] = torch.tensor(float(rank))
    src, dst = tmp / "comfy.safetensors", tmp / "out.safetensors"
    save_file(tensors, str(src))
    size_mb = os.path.getsize(src) / 1e6
    started = time.perf_counter()
    info = check_file(str(src), shapes, max_rank=512)
    write_adapter(str(src), info, str(dst))
    s = time.perf_counter() - started
    print(f"convert: {size_mb:.0f} MB (100 layers, rank {rank}) in {s:.2f} s = {size_mb / s:.0f} MB/s")


def _export(images: int, tmp: Path) -> None:
    blobs = open_blob_store(f"file://{tmp / 'blobs'}")
    rows = []
    payload = os.urandom(64 * 1024)
    for i in range(images):
        key = f"images/1/{i}.png"
        blobs.put(key, payload, "image/png")
        rows.append(SimpleNamespace(id=i, image_name=f"{i}.png", blob_key=key, sha256="", caption='{"a": 1}'))
    export = Export("exports/1/datasets/1-x/images.zip", "exports/1/datasets/1-x/captions.jsonl")
    started = time.perf_counter()
    build(blobs, rows, export)  # type: ignore[arg-type]
    s = time.perf_counter() - started
    mb = images * len(payload) / 1e6
    print(
        f"export: {images} images ({mb:.0f} MB) in {s:.2f} s = {images / s:.0f} images/s, {mb / s:.0f} MB/s"
    )
    assert io.BytesIO(blobs.get(export.zip_key)).getbuffer().nbytes > mb * 1e6


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--layers", type=int, default=500)
    ap.add_argument("--rank", type=int, default=64)
    ap.add_argument("--images", type=int, default=500)
    args = ap.parse_args()
    _check(args.layers, args.rank)
    with tempfile.TemporaryDirectory() as tmp:
        _convert(args.rank, Path(tmp))
        _export(args.images, Path(tmp))


if __name__ == "__main__":
    main()
