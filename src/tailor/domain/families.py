"""The plain facts of each base-model family: its name (a model's ``training_version``), the
weights it is published as, and what its serving checkpoints default to and accept.

The API and the services read these (defaults and ranges of ``steps_num`` and ``guidance_scale``,
how many images an edit takes) without any ML library; the engine's family declarations
(``tailor.engine.families``) add how each family is built, encoded, trained and run, and point
at the facts here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Serving:
    """Defaults and accepted ranges of one checkpoint of a family."""

    default_steps: int
    default_guidance: float
    steps_range: tuple[int, int]
    guidance_range: tuple[float, float]


@dataclass(frozen=True)
class FamilySpec:
    name: str  # the training_version: "fibo", "fibo-2"
    title: str
    hub_id: str  # the weights tailored models are trained on, by default
    serving: Serving  # the trained checkpoint's defaults and ranges
    pipeline_class: str = "BriaFiboPipeline"  # the diffusers class that loads its LoRA files
    card_name: str = "BRIA-FIBO"  # the base model's name in a download's model card
    card_licence: str | None = None  # the card's licence line (None: FIBO's CC BY-NC 4.0 text)
    turbo_hub_id: str | None = None  # distilled weights that serve the same adapters
    turbo_setting: str | None = None  # the setting naming the turbo weights (TAILOR_FIBO2_TURBO)
    turbo_serving: Serving | None = None
    max_edit_images: int = 0  # 0: the family does not edit

    def turbo_weights(self, settings: Any) -> str:
        """The configured turbo weights ('' when models of this family are served as trained)."""
        if self.turbo_setting is None:
            return ""
        return str(getattr(settings, self.turbo_setting, "") or "").strip()

    def serving_for(self, turbo: bool) -> Serving:
        """Defaults and ranges of the checkpoint that serves (turbo, or the trained one)."""
        return self.turbo_serving if turbo and self.turbo_serving is not None else self.serving


FIBO = FamilySpec(
    name="fibo",
    title="FIBO",
    hub_id="briaai/FIBO",
    serving=Serving(default_steps=50, default_guidance=5.0, steps_range=(20, 50), guidance_range=(3.0, 5.0)),
)
FIBO2 = FamilySpec(
    name="fibo-2",
    title="FIBO 2",
    hub_id="briaai/Fibo-2.0-dev",
    serving=Serving(default_steps=30, default_guidance=5.0, steps_range=(10, 50), guidance_range=(1.0, 5.0)),
    pipeline_class="BriaFibo2Pipeline",
    card_name="BRIA-FIBO-2",
    card_licence=(
        "the FIBO 2 weights are published by Bria under their model licence (see the model page); "
        "this adapter is a derivative and is distributed under the same terms."
    ),
    turbo_hub_id="briaai/Fibo-2.0-turbo",
    turbo_setting="fibo2_turbo",
    turbo_serving=Serving(
        default_steps=4, default_guidance=1.0, steps_range=(1, 8), guidance_range=(1.0, 5.0)
    ),
    max_edit_images=5,
)

FAMILY_SPECS: dict[str, FamilySpec] = {f.name: f for f in (FIBO, FIBO2)}
DEFAULT_FAMILY = FIBO.name
# the family /v2/image/edit (no tailored model) edits with
DEFAULT_EDIT_FAMILY = FIBO2.name


def family_spec(name: str | None) -> FamilySpec:
    """The facts of ``name`` (None: FIBO); KeyError names the known families."""
    spec = FAMILY_SPECS.get(name or DEFAULT_FAMILY)
    if spec is None:
        raise KeyError(f"unknown base-model family {name!r}; known: {', '.join(FAMILY_SPECS)}")
    return spec
