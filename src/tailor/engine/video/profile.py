"""What a video model renders: frame rate, clip length, pixel area and step defaults.

Wan checkpoints do not record their frame rate, so it is read from a ``tailor_video.json`` file
saved beside the model (the tiny model writes one) or inferred from the pipeline's configuration:
Wan 2.2 TI2V-5B (``expand_timesteps``) renders 24 fps at 1280x704, Wan 2.2 I2V-A14B (two experts,
``boundary_ratio``) and Wan 2.1 render 16 fps at 1280x720.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

CLIP_SECONDS = 5.0  # the contract: a 5-second clip
PROFILE_FILE = "tailor_video.json"
SIZE_MULTIPLE = 32  # Wan: VAE downsamples by 16, the transformer patches by 2


@dataclass(frozen=True)
class VideoProfile:
    """Defaults of one video model; ``max_area`` bounds width x height of a clip."""

    name: str
    fps: int
    max_area: int
    steps: int = 50
    guidance_scale: float = 5.0
    max_sequence_length: int = 512
    size_multiple: int = SIZE_MULTIPLE
    min_aspect: float = 704 / 1280  # height/width extremes the model was trained on
    max_aspect: float = 1280 / 704

    def frames(self, seconds: float = CLIP_SECONDS) -> int:
        """Frames of a clip of ``seconds``: the nearest count of the form 4k+1 (Wan's VAE packs
        four frames per latent after the first), so 5 s at 24 fps is 121 frames."""
        return 4 * max(1, round(seconds * self.fps / 4)) + 1

    def duration_s(self, seconds: float = CLIP_SECONDS) -> float:
        return self.frames(seconds) / self.fps

    def size_for(self, width: int, height: int) -> tuple[int, int]:
        """(width, height) of a clip for an image of this size: the image's aspect ratio (clamped to
        the model's range) at about ``max_area`` pixels, both sides multiples of ``size_multiple``."""
        aspect = min(max(height / width, self.min_aspect), self.max_aspect)
        m = self.size_multiple
        h = max(m, int(math.sqrt(self.max_area * aspect)) // m * m)
        w = max(m, int(math.sqrt(self.max_area / aspect)) // m * m)
        return w, h

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)


WAN22_TI2V_5B = VideoProfile(name="wan2.2-ti2v-5b", fps=24, max_area=1280 * 704)
WAN22_I2V_A14B = VideoProfile(
    name="wan2.2-i2v-a14b", fps=16, max_area=1280 * 720, steps=40, guidance_scale=3.5,
    min_aspect=720 / 1280, max_aspect=1280 / 720,
)  # fmt: skip
WAN21_I2V = replace(WAN22_I2V_A14B, name="wan2.1-i2v", guidance_scale=5.0, steps=50)


def read_profile(source: str | Path, pipeline_config: dict[str, Any]) -> VideoProfile:
    """The profile saved with the model, else the one its pipeline configuration implies."""
    path = Path(source) / PROFILE_FILE
    if path.is_file():
        raw = json.loads(path.read_text())
        return VideoProfile(**{k: v for k, v in raw.items() if k in VideoProfile.__dataclass_fields__})
    if pipeline_config.get("expand_timesteps"):
        return WAN22_TI2V_5B
    if pipeline_config.get("boundary_ratio") is not None:
        return WAN22_I2V_A14B
    return WAN21_I2V
