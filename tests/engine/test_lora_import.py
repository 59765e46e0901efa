"""``engine.lora_import``: an uploaded file is checked against the transformer's layers, then stored
in the diffusers layout that loads like a trained adapter."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from tailor.engine.lora_import import (
    LoraRejected,
    check_file,
    check_lora,
    linear_shapes,
    read_header,
    write_adapter,
)


@pytest.fixture(scope="module")
def shapes(tiny_dir: Path) -> dict[str, tuple[int, int]]:
    from diffusers.models.transformers.transformer_bria_fibo import BriaFiboTransformer2DModel

    return linear_shapes(BriaFiboTransformer2DModel.from_pretrained(tiny_dir / "transformer"))


def _header(data: bytes) -> dict[str, Any]:
    return read_header(io.BytesIO(data), len(data))


def _save(tensors: dict[str, Any], path: Path, metadata: dict[str, str] | None = None) -> bytes:
    from safetensors.torch import save_file

    save_file(tensors, str(path), metadata=metadata)
    return path.read_bytes()


def test_a_peft_adapter_passes_and_keeps_its_config(
    adapter_files: dict[str, bytes], shapes: dict[str, tuple[int, int]]
) -> None:
    info = check_lora(_header(adapter_files["A"]), shapes, max_rank=512)
    assert info.layout == "diffusers" and info.rank == 4 and info.config is not None
    assert all(m in shapes for m in info.ranks)


def test_comfy_layout_with_alphas_becomes_a_diffusers_adapter(
    tmp_path: Path, shapes: dict[str, tuple[int, int]]
) -> None:
    import torch
    from safetensors import safe_open

    module = next(m for m in sorted(shapes) if m.endswith("attn.to_q"))
    in_f, out_f = shapes[module]
    other = next(m for m in sorted(shapes) if m.endswith("attn.to_k"))
    tensors = {
        f"diffusion_model.{module}.lora_A.weight": torch.ones(8, in_f),
        f"diffusion_model.{module}.lora_B.weight": torch.ones(out_f, 8),
        f"diffusion_model.{module}.alpha": torch.tensor(4.0),
        f"diffusion_model.{other}.lora_A.weight": torch.ones(2, shapes[other][0]),
        f"diffusion_model.{other}.lora_B.weight": torch.ones(shapes[other][1], 2),
    }
    src = tmp_path / "comfy.safetensors"
    _save(tensors, src)
    info = check_file(str(src), shapes, max_rank=512)
    assert info.layout == "comfyui" and info.ranks == {module: 8, other: 2}
    dst = tmp_path / "out.safetensors"
    write_adapter(str(src), info, str(dst))
    with safe_open(str(dst), framework="pt") as st:
        assert sorted(st.keys()) == sorted(
            f"transformer.{m}.lora_{h}.weight" for m in (module, other) for h in "AB"
        )
        config = json.loads(st.metadata()["lora_adapter_metadata"])
    assert config["transformer.target_modules"] == sorted([module, other])
    assert config["transformer.r"] in (8, 2)
    rank_of_other = config["transformer.rank_pattern"].get(other, config["transformer.r"])
    assert rank_of_other == 2


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        ("wrong_in", "do not fit the layer"),
        ("unknown_layer", "has no linear layer"),
        ("only_a", "lora_B is missing"),
        ("not_lora", "is not a LoRA weight"),
        ("int_dtype", "not a float type"),
        ("rank_too_big", "outside 1.."),
    ],
)
def test_files_for_another_model_are_refused_with_the_reason(
    tmp_path: Path, shapes: dict[str, tuple[int, int]], edit: str, reason: str
) -> None:
    import torch

    module = next(m for m in sorted(shapes) if m.endswith("attn.to_q"))
    in_f, out_f = shapes[module]
    a, b = f"transformer.{module}.lora_A.weight", f"transformer.{module}.lora_B.weight"
    tensors: dict[str, Any] = {a: torch.ones(4, in_f), b: torch.ones(out_f, 4)}
    if edit == "wrong_in":
        tensors[a] = torch.ones(4, in_f + 1)
    elif edit == "unknown_layer":
        tensors = {k.replace(module, "blocks.99.proj"): v for k, v in tensors.items()}
    elif edit == "only_a":
        del tensors[b]
    elif edit == "not_lora":
        tensors[f"transformer.{module}.weight"] = torch.ones(out_f, in_f)
    elif edit == "int_dtype":
        tensors[a] = torch.ones(4, in_f, dtype=torch.int32)
    elif edit == "rank_too_big":
        tensors = {a: torch.ones(8, in_f), b: torch.ones(out_f, 8)}
    data = _save(tensors, tmp_path / "x.safetensors")
    with pytest.raises(LoraRejected, match=reason):
        check_lora(_header(data), shapes, max_rank=4)


def test_headers_that_lie_about_the_file_are_refused(adapter_files: dict[str, bytes]) -> None:
    data = adapter_files["A"]
    for broken, reason in (
        (b"\x00" * 16, "not a safetensors file"),
        (data[:8] + b"{not json" + data[17:], "not JSON"),
        (data[: len(data) - 8], "offsets"),
    ):
        with pytest.raises(LoraRejected, match=reason):
            read_header(io.BytesIO(broken), len(broken))
