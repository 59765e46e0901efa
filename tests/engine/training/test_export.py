"""The ComfyUI layout is a rename of the diffusers file plus alphas, for any dtype."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import torch
from safetensors.torch import load, save

from tailor.engine.training.export import comfy_header, read_header, write_comfy, write_export_zip
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


def test_comfy_layout_keeps_tensors_and_adds_alphas() -> None:
    for dtype in (torch.float32, torch.bfloat16):
        src = diffusers_file(dtype, rank=4, alpha=8)
        out = io.BytesIO()
        write_comfy(io.BytesIO(src), out)
        comfy, plain = load(out.getvalue()), load(src)
        for k, v in plain.items():
            new = "diffusion_model." + k.removeprefix("transformer.")
            assert comfy[new].dtype == dtype and torch.equal(comfy[new], v)
        alphas = {k: float(v) for k, v in comfy.items() if k.endswith(".alpha")}
        assert alphas == {
            "diffusion_model.transformer_blocks.0.attn.to_q.alpha": 8.0,
            "diffusion_model.single_transformer_blocks.0.proj_mlp.alpha": 8.0,
        }


def test_alpha_defaults_to_the_rank_without_metadata() -> None:
    header, _ = read_header(io.BytesIO(diffusers_file(torch.float32, rank=6)))
    new, extra = comfy_header(header, None)
    assert len(extra) == 8 and all(new[k]["shape"] == [] for k in new if k.endswith(".alpha"))
    out = io.BytesIO()
    write_comfy(io.BytesIO(diffusers_file(torch.float32, rank=6)), out)
    assert {float(v) for k, v in load(out.getvalue()).items() if k.endswith(".alpha")} == {6.0}


def test_export_zip(tmp_path: Path) -> None:
    blobs = DiskBlobStore(tmp_path / "blobs")
    blobs.put("models/1/adapter.safetensors", diffusers_file(torch.bfloat16))
    write_export_zip(blobs, "models/1/adapter.safetensors", "models/1/export/final.zip", "# card\n")
    zf = zipfile.ZipFile(io.BytesIO(blobs.get("models/1/export/final.zip")))
    assert zf.read("README.md") == b"# card\n"
    assert zf.read("diffusers/pytorch_lora_weights.safetensors") == blobs.get("models/1/adapter.safetensors")
    assert len(load(zf.read("comfyui/lora.safetensors"))) == 6
