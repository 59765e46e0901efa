"""The fast path of generation: attention backend, torch.compile with hot-swapped adapters, VAE
tiling. Each is a setting (``TAILOR_ATTENTION_BACKEND``, ``TAILOR_COMPILE``,
``TAILOR_VAE_TILING_PIXELS``); ``benchmarks/gpu.py`` measures them.

Compiling the transformer makes every change of its modules a recompilation, so with
``TAILOR_COMPILE`` adapters are not added next to each other: one adapter slot is prepared for the
largest rank (diffusers' ``enable_lora_hotswap``) by the first adapter, the transformer is compiled
then, and each later adapter's weights are swapped into the slot in place
(``load_lora_weights(..., hotswap=True)``).
"""

from __future__ import annotations

import importlib.util
import logging
from typing import Any

log = logging.getLogger(__name__)

HOTSWAP_MAX_RANK = 128  # the largest rank the API trains


class SpeedSettingError(ValueError):
    """A speed setting names something this installation cannot do."""


def attention_backend(setting: str, device: str) -> str:
    """The diffusers attention backend to use for ``TAILOR_ATTENTION_BACKEND=setting``."""
    from diffusers.models.attention_dispatch import AttentionBackendName

    name = setting.strip().lower()
    flash_installed = importlib.util.find_spec("flash_attn") is not None
    if name in ("auto", ""):
        return "flash" if device.startswith("cuda") and flash_installed else "native"
    if name == "sdpa":
        name = "native"
    valid = {b.value for b in AttentionBackendName}
    if name not in valid:
        raise SpeedSettingError(
            f"TAILOR_ATTENTION_BACKEND={setting!r} is not an attention backend; use auto, native "
            f"(PyTorch SDPA), flash, or one of: {', '.join(sorted(valid))}"
        )
    if name.startswith("flash") and not name.endswith("hub") and not flash_installed:
        raise SpeedSettingError(
            f"TAILOR_ATTENTION_BACKEND={setting!r} needs the flash-attn package (pip install flash-attn)"
        )
    return name


def apply_attention_backend(pipe: Any, setting: str, device: str) -> str:
    backend = attention_backend(setting, device)
    if backend != "native":  # native (SDPA) is diffusers' default
        pipe.transformer.set_attention_backend(backend)
    log.info("attention backend: %s", backend)
    return backend


def prepare_compile(pipe: Any, device: str) -> bool:
    """Prepare ``pipe`` for a compiled transformer with hot-swapped adapters: room for adapters up
    to ``HOTSWAP_MAX_RANK`` (before any adapter is loaded). The transformer is compiled once the
    first adapter has made the slot (:func:`compile_transformer`, called by the adapter cache):
    peft can only prepare the slot of a model not yet compiled. Returns whether it applies (CUDA
    only)."""
    if not device.startswith("cuda"):
        log.info("TAILOR_COMPILE applies on CUDA only; running eager on %s", device)
        return False
    pipe.enable_lora_hotswap(target_rank=HOTSWAP_MAX_RANK)
    return True


def compile_transformer(pipe: Any) -> None:
    """``torch.compile`` the transformer in place (compiled on its next call)."""
    pipe.transformer.compile(fullgraph=False, dynamic=False)
    log.info("transformer compiled (hot-swapped adapters)")


def use_vae_tiling(pipe: Any, width: int, height: int, threshold: int) -> None:
    """Tile the VAE decode for outputs above ``threshold`` pixels (0: always)."""
    vae = pipe.vae
    if width * height > threshold:
        vae.enable_tiling()
    else:
        vae.disable_tiling()
