"""GPU memory as a planned resource: what generation and training of FIBO need, before loading.

The planner counts parameters on the real architecture built on the meta device (no weights, no
download): FIBO's transformer (8 double-stream + 38 single-stream blocks, 8.3 B parameters), the
SmolLM3-3B text encoder and the Wan 2.2 VAE, from ``engine/architectures.py`` (or the configured
model's own, when given). LoRA, gradient and AdamW bytes follow from the target modules and the
rank. Activation bytes are estimates per token and block (coefficients below, measured against
a GPU run by ``benchmarks/gpu.py``); the planner keeps a margin for the CUDA context and the
allocator's fragmentation.

A worker checks the plan against what its device has free before it loads a pipeline or starts
training; what cannot fit fails at once with a :class:`InsufficientGpuMemory` naming both figures,
instead of an out-of-memory crash half way.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

from tailor.engine import fibo_recipe as recipe
from tailor.engine.architectures import FIBO_TEXT_ENCODER, FIBO_TRANSFORMER, FIBO_VAE
from tailor.engine.pipeline import BaseModelUnavailable

GiB = 1024**3

# Activation estimates, in bytes per (token x hidden unit) of one block, bf16.
GEN_ACT_PER_TOKEN_HIDDEN = 2 * 12  # live tensors of the widest block in a no-grad forward
TRAIN_SAVED_PER_TOKEN_HIDDEN = 2 * 2  # a block's checkpointed input (+ its LoRA inputs)
TRAIN_BLOCK_PER_TOKEN_HIDDEN = 2 * 40  # one block recomputed with its autograd graph
TRAIN_NOCKPT_PER_TOKEN_HIDDEN = 2 * 34  # every block's saved tensors without checkpointing
VAE_DECODE_BYTES_PER_PIXEL = 2_000  # the Wan decoder's peak at bf16, per output pixel (untiled)
VAE_ENCODE_BYTES_PER_PIXEL = 4_000  # the encoder's peak at float32, per input pixel
CUDA_OVERHEAD = int(1.5 * GiB)  # context, cuBLAS workspace, allocator slack
TEXT_TOKENS = 1000  # a typical FIBO structured prompt (the longest are 3000)


class InsufficientGpuMemory(BaseModelUnavailable):
    """The plan does not fit in what the device has free."""


@dataclass(frozen=True)
class Parameters:
    transformer: int
    text_encoder: int
    vae: int
    lora_per_rank: int  # LoRA parameters at rank 1 on FIBO's targets (linear in the rank)
    hidden: int
    blocks: int


def _meta_transformer(config: dict[str, Any]) -> Any:
    import torch
    from diffusers.models.transformers.transformer_bria_fibo import BriaFiboTransformer2DModel

    with torch.device("meta"):
        return BriaFiboTransformer2DModel(**config)


def count_parameters(
    transformer: dict[str, Any] | None = None,
    text_encoder: dict[str, Any] | None = None,
    vae: dict[str, Any] | None = None,
) -> Parameters:
    """Parameter counts of the architecture, built on the meta device (FIBO's by default)."""
    import torch
    from diffusers import AutoencoderKLWan
    from transformers import SmolLM3Config, SmolLM3ForCausalLM

    tcfg = transformer or FIBO_TRANSFORMER
    model = _meta_transformer(tcfg)
    lora = 0
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear) and any(
            name == t or name.endswith("." + t) for t in recipe.LORA_TARGET_MODULES
        ):
            lora += module.in_features + module.out_features
    with torch.device("meta"):
        te = SmolLM3ForCausalLM(SmolLM3Config(**(text_encoder or FIBO_TEXT_ENCODER)))
        v: Any = AutoencoderKLWan(**(vae or FIBO_VAE))
    return Parameters(
        transformer=sum(p.numel() for p in model.parameters()),
        text_encoder=sum(p.numel() for p in te.parameters()),
        vae=sum(p.numel() for p in v.parameters()),
        lora_per_rank=lora,
        hidden=tcfg["num_attention_heads"] * tcfg["attention_head_dim"],
        blocks=tcfg["num_layers"] + tcfg["num_single_layers"],
    )


@lru_cache(maxsize=1)
def fibo_parameters() -> Parameters:
    """FIBO's counts (built once per process on the meta device)."""
    return count_parameters()


@dataclass(frozen=True)
class Plan:
    """Bytes one job needs on the device, by part; ``total`` includes the CUDA overhead."""

    what: str
    weights: int
    lora: int
    gradients: int
    optimizer: int
    activations: int
    overhead: int = CUDA_OVERHEAD

    @property
    def total(self) -> int:
        return self.weights + self.lora + self.gradients + self.optimizer + self.activations + self.overhead

    def as_gib(self) -> dict[str, float]:
        out = {k: round(v / GiB, 2) for k, v in asdict(self).items() if isinstance(v, int)}
        out["total"] = round(self.total / GiB, 2)
        return out


def _tokens(width: int, height: int, text_tokens: int) -> int:
    return (width // 16) * (height // 16) + text_tokens


def generation_plan(
    params: Parameters,
    *,
    width: int = 1024,
    height: int = 1024,
    cfg: bool = True,
    weight_bytes: int = 2,
    text_tokens: int = TEXT_TOKENS,
    lora_rank: int = 128,
    adapters: int = 4,
    vae_tiling: bool = False,
) -> Plan:
    """A warm generation pipeline: every component on the device, ``adapters`` LoRA adapters
    loaded (bf16), one image with classifier-free guidance (a batch of 2)."""
    batch = 2 if cfg else 1
    tokens = _tokens(width, height, text_tokens)
    transformer_act = batch * tokens * params.hidden * GEN_ACT_PER_TOKEN_HIDDEN
    text_act = batch * text_tokens * 2048 * 2 * 40  # hidden states of every layer are kept
    pixels = width * height if not vae_tiling else 512 * 512
    return Plan(
        what=f"generation {width}x{height}{' with CFG' if cfg else ''}",
        weights=(params.transformer + params.text_encoder + params.vae) * weight_bytes,
        lora=adapters * params.lora_per_rank * lora_rank * weight_bytes,
        gradients=0,
        optimizer=0,
        activations=max(transformer_act + text_act, pixels * VAE_DECODE_BYTES_PER_PIXEL),
    )


def training_plan(
    params: Parameters,
    *,
    rank: int = 128,
    width: int = 1024,
    height: int = 1024,
    gradient_checkpointing: bool = True,
    text_tokens: int = TEXT_TOKENS,
    text_encoder_on_device: bool = False,
    weight_bytes: int = 2,
) -> Plan:
    """One training process: bf16 transformer, float32 LoRA weights, gradients and AdamW's two
    moments, activations of one micro-batch (one image). The text encoder stays on the device
    only when some text states are recomputed (byte budget); the VAE encodes before training."""
    lora = params.lora_per_rank * rank
    tokens = _tokens(width, height, text_tokens)
    per = tokens * params.hidden
    if gradient_checkpointing:
        act = per * (params.blocks * TRAIN_SAVED_PER_TOKEN_HIDDEN + TRAIN_BLOCK_PER_TOKEN_HIDDEN)
    else:
        act = per * params.blocks * TRAIN_NOCKPT_PER_TOKEN_HIDDEN
    text_states = (text_tokens * 2048 * 37) * weight_bytes
    weights = params.transformer * weight_bytes
    if text_encoder_on_device:
        weights += params.text_encoder * weight_bytes
    return Plan(
        what=f"training rank {rank} at {width}x{height}",
        weights=weights,
        lora=lora * 4,
        gradients=lora * 4,
        optimizer=lora * 8,
        activations=act + text_states,
    )


def free_bytes(device: str) -> int | None:
    """Bytes free on a CUDA device now (None for CPU and other devices: not planned)."""
    import torch

    if not device.startswith("cuda") or not torch.cuda.is_available():
        return None
    free, _total = torch.cuda.mem_get_info(torch.device(device))
    return int(free)


def ensure_fits(plan: Plan, available: int | None, device: str, *, limit: int | None = None) -> None:
    """Raise :class:`InsufficientGpuMemory` when ``plan`` needs more than ``available`` bytes
    (or than ``limit``, this worker's share of the device, when set). ``None``: not planned."""
    cap = min(x for x in (available, limit) if x is not None) if (available, limit) != (None, None) else None
    if cap is None or plan.total <= cap:
        return
    parts = ", ".join(f"{k} {v} GiB" for k, v in plan.as_gib().items() if k != "total")
    raise InsufficientGpuMemory(
        f"{plan.what} needs about {plan.total / GiB:.1f} GiB on {device} ({parts}) but "
        f"{cap / GiB:.1f} GiB {'are free' if cap == available else 'are allowed (TAILOR_GPU_MEMORY_GB)'}. "
        "Give this worker a GPU of its own (TAILOR_DEVICES), stop what else runs on it, lower the rank, "
        "or set TAILOR_CPU_OFFLOAD=true for generation."
    )
