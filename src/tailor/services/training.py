"""Training recipes: what fully automated mode chooses from the IP type, medium and dataset size.

A recipe is a starting point per IP type (rank, learning rate, steps), scaled by the number of
images: more images need more steps to be seen often enough, fewer images need fewer steps (and
overfit sooner). Photography gets a slightly lower learning rate than illustration: photographic
detail is easier to damage than flat illustration styles.
"""

from __future__ import annotations

from dataclasses import dataclass

from tailor.domain.enums import IpMedium, IpType, LrScheduler
from tailor.domain.models import TrainingParameters


@dataclass(frozen=True)
class Recipe:
    rank: int
    learning_rate: float
    base_steps: int
    steps_per_image: int


RECIPES: dict[str, Recipe] = {
    # a single character's identity: high capacity, long enough to lock in the details
    IpType.defined_character: Recipe(rank=128, learning_rate=1e-4, base_steps=1000, steps_per_image=20),
    IpType.character_variants: Recipe(rank=128, learning_rate=1e-4, base_steps=900, steps_per_image=15),
    # products / objects: shape and material consistency
    IpType.object_variants: Recipe(rank=64, learning_rate=1e-4, base_steps=750, steps_per_image=15),
    IpType.multi_object_set: Recipe(rank=128, learning_rate=8e-5, base_steps=900, steps_per_image=15),
    # icons: a narrow style, learnt quickly; low rank avoids memorising individual icons
    IpType.icons: Recipe(rank=32, learning_rate=1e-4, base_steps=600, steps_per_image=10),
    # a visual style across scenes
    IpType.stylized_scene: Recipe(rank=64, learning_rate=1e-4, base_steps=900, steps_per_image=10),
    IpType.other: Recipe(rank=128, learning_rate=1e-4, base_steps=750, steps_per_image=10),
}

PHOTOGRAPHY_LR_FACTOR = 0.8
MIN_STEPS, MAX_STEPS = 500, 3000
REFERENCE_IMAGES = 20  # base_steps are tuned for a dataset of this size


def choose_parameters(ip_type: str, ip_medium: str, images_count: int) -> TrainingParameters:
    """The recipe fully automated mode uses for this project and dataset size."""
    recipe = RECIPES.get(ip_type, RECIPES[IpType.other])
    steps = recipe.base_steps + recipe.steps_per_image * (images_count - REFERENCE_IMAGES)
    steps = int(round(max(MIN_STEPS, min(MAX_STEPS, steps)) / 50.0) * 50)
    lr = recipe.learning_rate
    if ip_medium == IpMedium.photography:
        lr *= PHOTOGRAPHY_LR_FACTOR
    interval = 250 if steps <= 1000 else 500
    warmup = min(100, steps // 10)
    return TrainingParameters(
        learning_rate=float(f"{lr:.3g}"),
        lr_scheduler=LrScheduler.constant_with_warmup.value,
        rank=recipe.rank,
        total_training_steps=steps,
        checkpoint_interval=interval,
        lr_warmup_steps=warmup,
    )
