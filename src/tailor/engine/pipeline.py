"""Load a family's base pipeline from a hub id, a local diffusers directory, or the tiny model.

Which weights a family loads: ``TAILOR_BASE_MODELS`` (``family=weights``, comma-separated), else
``TAILOR_BASE_MODEL`` for FIBO, else 'tiny' for every family when ``TAILOR_BASE_MODEL`` is
'tiny' (development) and the family's hub id otherwise. ``TAILOR_FIBO2_TURBO`` names the turbo
weights FIBO 2 models are served with.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from tailor.config import Settings
from tailor.engine.families import FAMILIES, Family, get_family
from tailor.engine.families.fibo import FIBO

log = logging.getLogger(__name__)

LICENCE_NOTE = FIBO.licence


class BaseModelUnavailable(RuntimeError):
    """The configured base model cannot be loaded; the message says what to set."""


def family_weights(settings: Settings) -> dict[str, str]:
    """``TAILOR_BASE_MODELS`` parsed: family name -> weights; raises BaseModelUnavailable if malformed."""
    out: dict[str, str] = {}
    for part in settings.base_models.split(","):
        if not part.strip():
            continue
        name, sep, weights = part.partition("=")
        name, weights = name.strip(), weights.strip()
        if not sep or not weights or name not in FAMILIES:
            raise BaseModelUnavailable(
                f"TAILOR_BASE_MODELS entry {part.strip()!r} must be family=weights with a family among "
                f"{', '.join(FAMILIES)}"
            )
        out[name] = weights
    return out


def weights_name(settings: Settings, family: Family = FIBO, *, turbo: bool = False) -> str:
    """The configured weights of ``family`` (its turbo weights with ``turbo``): hub id, dir or 'tiny'."""
    if turbo:
        return family.spec.turbo_weights(settings)
    named = family_weights(settings).get(family.name)
    if named:
        return named
    if family is FIBO:
        return settings.base_model.strip()
    return "tiny" if settings.base_model.strip() == "tiny" else family.hub_id


def serves_turbo(settings: Settings, family: Family) -> bool:
    """Whether models of ``family`` are served with its turbo weights."""
    return bool(weights_name(settings, family, turbo=True))


def is_tiny(settings: Settings, family: Family = FIBO, *, turbo: bool = False) -> bool:
    """True when ``family``'s configured weights are the tiny development model."""
    from tailor.engine.tiny import TINY_NAME

    name = weights_name(settings, family, turbo=turbo)
    return name == "tiny" or Path(name).name.startswith((TINY_NAME, family.tiny_name))


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


def model_source(settings: Settings, family: Family = FIBO, *, turbo: bool = False) -> str:
    """Where ``from_pretrained`` reads from: the tiny model's directory, a local dir, or a hub id."""
    name = weights_name(settings, family, turbo=turbo)
    if name == "tiny":
        from tailor.engine.tiny import ensure_tiny_model

        return str(ensure_tiny_model(settings.models_dir, None if family is FIBO else family, turbo=turbo))
    if _looks_like_path(name):
        path = Path(name).expanduser()
        if not (path / "model_index.json").is_file():
            raise BaseModelUnavailable(
                f"the {family.title} weights {name!r} are not a diffusers model directory (no "
                "model_index.json there). Set TAILOR_BASE_MODEL (FIBO) or TAILOR_BASE_MODELS "
                f"(family=weights) to a directory saved with save_pretrained, to the hub id "
                f"{family.hub_id!r}, or to 'tiny' for the small random-weight development model."
            )
        return str(path)
    return name


def _hub_error(name: str, exc: BaseException, family: Family = FIBO) -> BaseModelUnavailable:
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
        f"cannot load base model: {why}. {family.licence}. Alternatives: set TAILOR_BASE_MODEL (or "
        f"TAILOR_BASE_MODELS) to a local diffusers directory, or to 'tiny' for development. ({text[:300]})"
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


def load_pipeline(
    settings: Settings, family: Family | str = FIBO, *, turbo: bool = False, plan: bool = True
) -> Any:
    """Load ``family``'s pipeline (its turbo weights with ``turbo``) on the chosen device and dtype;
    ``plan``: first check that a warm generation pipeline fits the device (training checks its
    own plan instead)."""
    family = get_family(family) if isinstance(family, str) else family
    source = model_source(settings, family, turbo=turbo)
    device = resolve_device(settings)
    dtype = resolve_dtype(device, settings.dtype)
    if plan and family is FIBO and not is_tiny(settings, family, turbo=turbo):  # the plan is of FIBO
        check_memory(settings, device, "generation")
    try:
        pipe = family.load(source, dtype)
    except BaseModelUnavailable:
        raise
    except Exception as e:  # hub/network/cache errors come in many types
        if Path(source).is_dir():
            raise BaseModelUnavailable(
                f"cannot load base model from {source!r}: {type(e).__name__}: {e}"
            ) from e
        raise _hub_error(source, e, family) from e
    family.after_load(pipe, is_tiny(settings, family, turbo=turbo))
    check_dtype(pipe, dtype)
    pipe.set_progress_bar_config(disable=True)
    if settings.cpu_offload and device.startswith("cuda"):
        pipe.enable_model_cpu_offload(device=device)
    else:
        pipe.to(device)
    log.info("loaded %s weights %s on %s (%s)", family.title, source, device, dtype)
    return pipe
