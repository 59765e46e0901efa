"""Check an uploaded LoRA file against the served transformer and turn it into Tailor's adapter file.

Accepted layouts (the two a Tailor download holds, and what most trainers write):

- diffusers: ``transformer.<module>.lora_A.weight`` / ``.lora_B.weight``, the LoraConfig in the
  safetensors header (``lora_adapter_metadata``) or not;
- ComfyUI: ``diffusion_model.<module>.lora_A.weight`` / ``.lora_B.weight`` with an optional
  ``diffusion_model.<module>.alpha`` scalar per module.

Every ``<module>`` must be a linear layer of the base model's transformer, ``lora_A`` must be
``[rank, in_features]`` and ``lora_B`` ``[out_features, rank]`` of that layer, both halves present
and of one rank. The check reads the header only (shapes, dtypes, offsets), so a wrong file is
refused before a byte of its tensors is read. The adapter stored is always in the diffusers layout
with a LoraConfig in its header (rank, alpha, the exact target modules, per-module ranks and alphas
when they differ), which is what the adapter cache loads for trained models too.
"""

from __future__ import annotations

import json
import os
import struct
from dataclasses import dataclass, field
from typing import IO, Any

METADATA_KEY = "lora_adapter_metadata"
MAX_HEADER_BYTES = 100 * 1024 * 1024
FLOAT_DTYPES = {"F32": 4, "F16": 2, "BF16": 2}
PREFIXES = ("transformer.", "diffusion_model.")
HALVES = (".lora_A.weight", ".lora_B.weight")


class LoraRejected(ValueError):
    """The file is not a LoRA for the served base model; the message says why."""


@dataclass
class LoraInfo:
    """What the check found: modules -> rank, alphas (when the file states them), the layout."""

    layout: str
    ranks: dict[str, int] = field(default_factory=dict)
    alphas: dict[str, float] = field(default_factory=dict)
    config: dict[str, Any] | None = None  # the file's own LoraConfig, if any

    @property
    def rank(self) -> int:
        return max(self.ranks.values())


def linear_shapes(transformer: Any) -> dict[str, tuple[int, int]]:
    """``module name -> (in_features, out_features)`` of every linear layer of ``transformer``.

    Adapters already loaded into it (peft wraps a layer as ``<name>.base_layer`` beside its
    ``lora_A``/``lora_B`` modules) are seen through: the names are the base model's own."""
    import torch

    out: dict[str, tuple[int, int]] = {}
    for name, m in transformer.named_modules():
        if not isinstance(m, torch.nn.Linear) or {"lora_A", "lora_B"} & set(name.split(".")):
            continue
        out[name.removesuffix(".base_layer")] = (int(m.in_features), int(m.out_features))
    return out


def read_header(f: IO[bytes], size: int) -> dict[str, Any]:
    """The safetensors header of an open file of ``size`` bytes, checked to describe the file."""
    raw = f.read(8)
    if len(raw) < 8:
        raise LoraRejected("the file is not a safetensors file (shorter than its header length)")
    (n,) = struct.unpack("<Q", raw)
    if n <= 0 or n > MAX_HEADER_BYTES or 8 + n > size:
        raise LoraRejected("the file is not a safetensors file (its header length does not fit the file)")
    try:
        header = json.loads(f.read(n))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise LoraRejected("the file is not a safetensors file (its header is not JSON)") from None
    if not isinstance(header, dict):
        raise LoraRejected("the file is not a safetensors file (its header is not a JSON object)")
    data_size = size - 8 - n
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            start, end = (int(v) for v in info["data_offsets"])
            shape = [int(d) for d in info["shape"]]
            dtype = str(info["dtype"])
        except (KeyError, TypeError, ValueError):
            raise LoraRejected(f"tensor {name!r}: malformed safetensors entry") from None
        width = FLOAT_DTYPES.get(dtype)
        if width is None:
            raise LoraRejected(f"tensor {name!r}: dtype {dtype} is not a float type (F32, F16 or BF16)")
        count = 1
        for d in shape:
            count *= d
        if not 0 <= start <= end <= data_size or end - start != count * width:
            raise LoraRejected(f"tensor {name!r}: its data offsets do not match its shape or the file")
    return header


def _split(name: str) -> tuple[str, str, str]:
    """(layout, module, part) of a tensor name; part is lora_A, lora_B or alpha."""
    for prefix in PREFIXES:
        if name.startswith(prefix):
            layout = "diffusers" if prefix == "transformer." else "comfyui"
            rest = name.removeprefix(prefix)
            for half in HALVES:
                if rest.endswith(half):
                    return layout, rest.removesuffix(half), half[1:7]
            if rest.endswith(".alpha"):
                return layout, rest.removesuffix(".alpha"), "alpha"
    raise LoraRejected(
        f"tensor {name!r} is not a LoRA weight of the transformer (expected "
        "transformer.<module>.lora_A.weight / .lora_B.weight, or the diffusion_model. layout)"
    )


def check_lora(header: dict[str, Any], shapes: dict[str, tuple[int, int]], *, max_rank: int) -> LoraInfo:
    """Check a safetensors header against the transformer's linear layers; raises LoraRejected."""
    tensors = {k: v for k, v in header.items() if k != "__metadata__"}
    if not tensors:
        raise LoraRejected("the file holds no tensors")
    layouts: set[str] = set()
    halves: dict[str, dict[str, list[int]]] = {}
    alphas_seen: set[str] = set()
    for name, info in sorted(tensors.items()):
        layout, module, part = _split(name)
        layouts.add(layout)
        if module not in shapes:
            raise LoraRejected(
                f"tensor {name!r}: the base model's transformer has no linear layer {module!r} "
                "(a LoRA for another base model?)"
            )
        if part == "alpha":
            if info["shape"] not in ([], [1]):
                raise LoraRejected(f"tensor {name!r}: an alpha must be a scalar")
            alphas_seen.add(module)
            continue
        halves.setdefault(module, {})[part] = [int(d) for d in info["shape"]]
    if len(layouts) > 1:
        raise LoraRejected("the file mixes the transformer. and diffusion_model. layouts")
    info_out = LoraInfo(layout=layouts.pop())
    for module, parts in sorted(halves.items()):
        if set(parts) != {"lora_A", "lora_B"}:
            missing = "lora_B" if "lora_A" in parts else "lora_A"
            raise LoraRejected(f"layer {module!r}: {missing} is missing")
        in_f, out_f = shapes[module]
        a, b = parts["lora_A"], parts["lora_B"]
        if len(a) != 2 or len(b) != 2:
            raise LoraRejected(f"layer {module!r}: lora_A and lora_B must be matrices")
        rank = a[0]
        if a[1] != in_f or b[0] != out_f or b[1] != rank:
            raise LoraRejected(
                f"layer {module!r}: shapes lora_A {a} / lora_B {b} do not fit the layer "
                f"({in_f} in, {out_f} out): expected [rank, {in_f}] and [{out_f}, rank] "
                "(a LoRA for another base model or size?)"
            )
        if not 1 <= rank <= min(max_rank, in_f, out_f):
            raise LoraRejected(f"layer {module!r}: rank {rank} is outside 1..{min(max_rank, in_f, out_f)}")
        info_out.ranks[module] = rank
    stray = sorted(alphas_seen - set(info_out.ranks))
    if stray:
        raise LoraRejected(f"layer {stray[0]!r}: an alpha without lora_A/lora_B")
    meta = (header.get("__metadata__") or {}).get(METADATA_KEY)
    if meta:
        try:
            config = json.loads(meta)
        except json.JSONDecodeError:
            raise LoraRejected(f"the header's {METADATA_KEY} is not JSON") from None
        if not isinstance(config, dict):
            raise LoraRejected(f"the header's {METADATA_KEY} is not a JSON object")
        info_out.config = config
    return info_out


def _lora_config(info: LoraInfo, alphas: dict[str, float]) -> dict[str, Any]:
    """A LoraConfig (diffusers' transformer-prefixed metadata) that states exactly what the file is."""
    if info.config is not None and info.layout == "diffusers":
        return info.config
    rank = max(set(info.ranks.values()), key=list(info.ranks.values()).count)  # the most common
    alpha_default = alphas.get(next(m for m, r in info.ranks.items() if r == rank), float(rank))
    config: dict[str, Any] = {
        "r": rank,
        "lora_alpha": alpha_default,
        "target_modules": sorted(info.ranks),
        "rank_pattern": {m: r for m, r in info.ranks.items() if r != rank},
        "alpha_pattern": {m: a for m, a in alphas.items() if a != alpha_default},
        "init_lora_weights": True,
    }
    return {f"transformer.{k}": v for k, v in config.items()}


def write_adapter(src_path: str, info: LoraInfo, dest_path: str) -> None:
    """Write the diffusers-layout adapter for a checked file (``check_lora``'s ``info``)."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    tensors: dict[str, Any] = {}
    alphas: dict[str, float] = {}
    with safe_open(src_path, framework="pt") as st:
        for name in st.keys():  # noqa: SIM118 - safe_open is not a mapping
            _layout, module, part = _split(name)
            if part == "alpha":
                alphas[module] = float(st.get_tensor(name).float().reshape(-1)[0])
            else:
                tensors[f"transformer.{module}.{part}.weight"] = st.get_tensor(name).contiguous()
    metadata = {"format": "pt", METADATA_KEY: json.dumps(_lora_config(info, alphas), sort_keys=True)}
    save_file(tensors, dest_path, metadata=metadata)


def check_file(path: str, shapes: dict[str, tuple[int, int]], *, max_rank: int) -> LoraInfo:
    """Read and check the header of the safetensors file at ``path``."""
    with open(path, "rb") as f:
        header = read_header(f, os.path.getsize(path))
    return check_lora(header, shapes, max_rank=max_rank)
