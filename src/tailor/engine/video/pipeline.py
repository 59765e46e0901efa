"""Load the video pipeline (``WanImageToVideoPipeline``) from a hub id, a local folder, or ``tiny``."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from tailor.config import Settings
from tailor.engine.pipeline import resolve_device, resolve_dtype

log = logging.getLogger(__name__)

# The default for real use, and the quality option (see README: VRAM, time, licences).
WAN22_TI2V_5B = "Wan-AI/Wan2.2-TI2V-5B-Diffusers"
WAN22_I2V_A14B = "Wan-AI/Wan2.2-I2V-A14B-Diffusers"


class VideoModelUnavailable(RuntimeError):
    """The configured video model cannot be loaded; the message says what to set."""


def video_model_name(settings: Settings) -> str:
    """``TAILOR_VIDEO_MODEL``, with ``auto`` resolved: the tiny model when the image model is the tiny
    one (a development install), else Wan 2.2 TI2V-5B."""
    from tailor.engine.pipeline import is_tiny

    name = settings.video_model.strip()
    if name == "auto":
        return "tiny" if is_tiny(settings) else WAN22_TI2V_5B
    return name


def video_model_source(settings: Settings) -> str:
    """Where ``from_pretrained`` reads from: the tiny model's folder, a local folder, or a hub id."""
    name = video_model_name(settings)
    if name == "tiny":
        from tailor.engine.video.tiny import ensure_tiny_video_model

        return str(ensure_tiny_video_model(settings.models_dir))
    looks_local = name.startswith(("/", "./", "../", "~")) or Path(name).expanduser().exists()
    if looks_local:
        path = Path(name).expanduser()
        if not (path / "model_index.json").is_file():
            raise VideoModelUnavailable(
                f"TAILOR_VIDEO_MODEL={name!r} is not a diffusers model folder (no model_index.json there). "
                f"Set it to a folder saved with save_pretrained, to a hub id such as {WAN22_TI2V_5B!r}, "
                "or to 'tiny' for the small random-weight development model."
            )
        return str(path)
    return name


def video_device(settings: Settings) -> str:
    """``TAILOR_VIDEO_DEVICE`` when set (a GPU dedicated to video), else the image model's device."""
    if settings.video_device:
        return settings.video_device
    return resolve_device(settings)


def load_video_pipeline(settings: Settings) -> tuple[Any, str]:
    """``(pipeline, source)``: the video pipeline on its device and dtype."""
    from diffusers import WanImageToVideoPipeline

    source = video_model_source(settings)
    device = video_device(settings)
    dtype = resolve_dtype(device)
    try:
        pipe = WanImageToVideoPipeline.from_pretrained(source, dtype=dtype)
    except Exception as e:  # hub, network, cache and format errors come in many types
        where = "from the folder" if Path(source).is_dir() else "from the hub repository"
        raise VideoModelUnavailable(
            f"cannot load the video model {where} {source!r} ({type(e).__name__}: {str(e)[:300]}). "
            "Set TAILOR_VIDEO_MODEL to a local diffusers folder, to a reachable hub id (HF_TOKEN for a "
            "gated one), or to 'tiny' for development."
        ) from e
    pipe.set_progress_bar_config(disable=True)
    if settings.cpu_offload and device.startswith("cuda"):
        pipe.enable_model_cpu_offload(device=device)
    else:
        pipe.to(device)
    log.info("loaded video model %s on %s (%s)", source, device, dtype)
    return pipe, source
