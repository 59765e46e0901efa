"""The download holds what users' tools load: the diffusers LoRA file, unchanged, and a card."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import torch
from safetensors.torch import load, save

from tailor.engine.training.export import write_export_zip
from tailor.store.blob_disk import DiskBlobStore


def diffusers_file(dtype: torch.dtype, rank: int = 4, alpha: int | None = None) -> bytes:
    tensors = {
        "transformer.transformer_blocks.0.attn.to_q.lora_A.weight": torch.randn(rank, 16).to(dtype),
        "transformer.transformer_blocks.0.attn.to_q.lora_B.weight": torch.randn(16, rank).to(dtype),
        "transformer.single_transformer_blocks.0.proj_mlp.lora_A.weight": torch.randn(rank, 16).to(dtype),
        "transformer.single_transformer_blocks.0.proj_mlp.lora_B.weight": torch.randn(64, rank).to(dtype),
    }
    meta = {"format": "pt"}
    if alpha is not None:
        meta["lora_adapter_metadata"] = json.dumps({"transformer.r": rank, "transformer.lora_alpha": alpha})
    return save(tensors, metadata=meta)


def test_export_zip(tmp_path: Path) -> None:
    blobs = DiskBlobStore(tmp_path / "blobs")
    blobs.put("models/1/adapter.safetensors", diffusers_file(torch.bfloat16))
    write_export_zip(blobs, "models/1/adapter.safetensors", "models/1/export/final.zip", "# card\n")
    zf = zipfile.ZipFile(io.BytesIO(blobs.get("models/1/export/final.zip")))
    assert zf.read("README.md") == b"# card\n"
    assert zf.read("diffusers/pytorch_lora_weights.safetensors") == blobs.get("models/1/adapter.safetensors")
    assert sorted(zf.namelist()) == ["README.md", "diffusers/pytorch_lora_weights.safetensors"]
    assert len(load(zf.read("diffusers/pytorch_lora_weights.safetensors"))) == 4
