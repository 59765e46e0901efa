"""Load the base FIBO pipeline from a hub id, a local diffusers directory, or the tiny model."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tailor.config import Settings

if TYPE_CHECKING:
    from diffusers import BriaFiboPipeline

log = logging.getLogger(__name__)

LICENCE_NOTE = (
    "FIBO's weights are published by Bria under CC BY-NC 4.0 (non-commercial use); "
    "accept the licence on the model page before downloading"
)


class BaseModelUnavailable(RuntimeError):
    """The configured base model cannot be loaded; the message says what to set."""


def is_tiny(settings: Settings) -> bool:
    """True when the configured base model is the tiny development model."""
    from tailor.engine.tiny import TINY_NAME

    name = settings.base_model.strip()
    return name == "tiny" or Path(name).name == TINY_NAME


def resolve_device(settings: Settings) -> str:
    """The torch device to run on: ``settings.device``, or CUDA when present, else CPU."""
    import torch

    if settings.device != "auto":
        return settings.device
    return "cuda" if torch.cuda.is_available() else "cpu"


def resolve_dtype(device: str, setting: str = "auto") -> Any:
    """``setting`` (``TAILOR_DTYPE``), or for "auto": bfloat16 on CUDA, float32 on CPU."""
    import torch

    if setting != "auto":
        return getattr(torch, setting)
    return torch.bfloat16 if device.startswith("cuda") else torch.float32


def check_dtype(pipe: Any, dtype: Any) -> None:
    """Raise if a component did not load in ``dtype`` (a diffusers that ignores ``dtype=`` would
    silently load FIBO's 8B transformer in float32 and the trainer would turn bf16 off)."""
    import diffusers

    wrong = {
        name: str(getattr(pipe, name).dtype)
        for name in ("transformer", "text_encoder", "vae")
        if getattr(pipe, name, None) is not None and getattr(pipe, name).dtype != dtype
    }
    if wrong:
        raise BaseModelUnavailable(
            f"the base model loaded in the wrong dtype ({wrong}, asked for {dtype}) with diffusers "
            f"{diffusers.__version__}; Tailor needs diffusers>=0.40 (pip install -U diffusers)"
        )


def _looks_like_path(name: str) -> bool:
    return name.startswith(("/", "./", "../", "~")) or Path(name).expanduser().exists()


def model_source(settings: Settings) -> str:
    """Where ``from_pretrained`` reads from: the tiny model's directory, a local dir, or a hub id."""
    name = settings.base_model.strip()
    if name == "tiny":
        from tailor.engine.tiny import ensure_tiny_model

        return str(ensure_tiny_model(settings.models_dir))
    if _looks_like_path(name):
        path = Path(name).expanduser()
        if not (path / "model_index.json").is_file():
            raise BaseModelUnavailable(
                f"TAILOR_BASE_MODEL={name!r} is not a diffusers model directory (no model_index.json "
                "there). Set TAILOR_BASE_MODEL to a directory saved with save_pretrained, to the hub id "
                "'briaai/FIBO', or to 'tiny' for the small random-weight development model."
            )
        return str(path)
    return name


def _hub_error(name: str, exc: BaseException) -> BaseModelUnavailable:
    text = f"{type(exc).__name__}: {exc}"
    chain = [exc, exc.__cause__, exc.__context__]
    gated = any(type(e).__name__ == "GatedRepoError" for e in chain if e is not None) or any(
        w in text for w in ("gated", "401", "403", "Unauthorized", "restricted")
    )
    if gated:
        why = (
            f"the hub repository {name!r} is gated: accept its licence on huggingface.co and set "
            "HF_TOKEN to a token of an account that has access"
        )
    else:
        why = (
            f"the weights of {name!r} could not be found or downloaded (offline, HF_HUB_OFFLINE=1, "
            "unknown repository, or not in the local cache); for a gated repository set HF_TOKEN"
        )
    return BaseModelUnavailable(
        f"cannot load base model: {why}. {LICENCE_NOTE}. Alternatives: set TAILOR_BASE_MODEL to a local "
        f"diffusers directory, or to 'tiny' for development. ({text[:300]})"
    )


def check_memory(settings: Settings, device: str, what: str, **plan_args: Any) -> None:
    """Refuse (``InsufficientGpuMemory``) before loading when FIBO's plan for ``what``
    ("generation" or "training") does not fit this worker's device."""
    from tailor.engine import memory

    available = memory.free_bytes(device)
    if available is None:
        return
    params = memory.fibo_parameters()
    if what == "training":
        plan = memory.training_plan(params, **plan_args)
    else:
        plan = memory.generation_plan(params, adapters=settings.adapter_cache_size, **plan_args)
        if settings.cpu_offload:  # one component at a time on the GPU
            plan = memory.Plan(plan.what, params.transformer * 2, plan.lora, 0, 0, plan.activations)
    limit = int(settings.gpu_memory_gb * memory.GiB) if settings.gpu_memory_gb else None
    memory.ensure_fits(plan, available, device, limit=limit)


def load_pipeline(settings: Settings, *, plan: bool = True) -> BriaFiboPipeline:
    """Load ``BriaFiboPipeline`` per ``settings.base_model``, on the chosen device and dtype;
    ``plan``: first check that a warm generation pipeline fits the device (training checks its
    own plan instead)."""
    from diffusers import BriaFiboPipeline

    source = model_source(settings)
    device = resolve_device(settings)
    dtype = resolve_dtype(device, settings.dtype)
    if plan and not is_tiny(settings):
        check_memory(settings, device, "generation")
    try:
        pipe = BriaFiboPipeline.from_pretrained(source, dtype=dtype)
    except BaseModelUnavailable:
        raise
    except Exception as e:  # hub/network/cache errors come in many types
        if Path(source).is_dir():
            raise BaseModelUnavailable(
                f"cannot load base model from {source!r}: {type(e).__name__}: {e}"
            ) from e
        raise _hub_error(source, e) from e
    check_dtype(pipe, dtype)
    pipe.set_progress_bar_config(disable=True)
    if settings.cpu_offload and device.startswith("cuda"):
        pipe.enable_model_cpu_offload(device=device)
    else:
        pipe.to(device)
    log.info("loaded base model %s on %s (%s)", settings.base_model, device, dtype)
    return pipe
