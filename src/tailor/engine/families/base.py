"""What a base-model family declares: the one place that knows how a family is built and run.

A family is the base model a tailored model is trained on and served with (its
``training_version``). Its declaration says which diffusers pipeline and components it has, how a
caption is serialised and encoded (the same for the training cache and for inference), how an
image becomes the latents its transformer denoises and what that transformer predicts for a
training step, which modules carry the LoRA, its resolution table, its default steps and guidance
(per checkpoint: a distilled *turbo* checkpoint defaults to few steps and no guidance), its licence
notice and its tiny random-weight builder. The engine, the trainer and the exports read a
``Family``; nothing else branches on which one it is.

Declarations import torch and diffusers lazily: the API reads their plain values (ranges,
defaults, names) without loading any ML library.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tailor.domain.families import FamilySpec, Serving


class Family:
    """Base class of a family declaration; subclasses set the values and implement the hooks."""

    spec: FamilySpec  # name, weights, serving defaults and ranges (plain facts, in the domain)
    components: tuple[str, ...]
    licence: str
    lora_targets: tuple[str, ...]
    sizes: dict[str, tuple[int, int]]  # aspect ratio -> (width, height) of the real model
    tiny_sizes: dict[str, tuple[int, int]]  # the same ratios for the tiny model
    tiny_name: str
    max_sequence_length: int

    # --- plain values ---------------------------------------------------------------------------
    @property
    def name(self) -> str:
        """The family's ``training_version``."""
        return self.spec.name

    @property
    def title(self) -> str:
        return self.spec.title

    @property
    def hub_id(self) -> str:
        return self.spec.hub_id

    @property
    def turbo_hub_id(self) -> str | None:
        return self.spec.turbo_hub_id

    @property
    def pipeline_class(self) -> str:
        """The diffusers pipeline class."""
        return self.spec.pipeline_class

    @property
    def serving(self) -> Serving:
        return self.spec.serving

    @property
    def max_edit_images(self) -> int:
        return self.spec.max_edit_images

    def serving_for(self, turbo: bool) -> Serving:
        """Defaults and ranges of the checkpoint that serves (turbo or the trained one)."""
        return self.spec.serving_for(turbo)

    def size_for(self, aspect_ratio: str, tiny: bool) -> tuple[int, int]:
        """(width, height) for ``aspect_ratio``; raises ValueError if the ratio is unknown."""
        table = self.tiny_sizes if tiny else self.sizes
        try:
            return table[aspect_ratio]
        except KeyError:
            raise ValueError(
                f"unknown aspect_ratio {aspect_ratio!r}; expected one of {', '.join(table)}"
            ) from None

    # --- building and loading -------------------------------------------------------------------
    def build_tiny(self, seed: int) -> Any:
        """The tiny pipeline (the family's real architecture, seeded random weights), in memory."""
        raise NotImplementedError

    def save_tiny(self, pipe: Any, path: Path) -> None:
        """Save a tiny pipeline so that :meth:`load` reads it back."""
        pipe.save_pretrained(path, safe_serialization=True)

    def load(self, source: str, dtype: Any) -> Any:
        """``from_pretrained`` of the family's pipeline from a hub id or a local directory."""
        raise NotImplementedError

    def after_load(self, pipe: Any, tiny: bool) -> None:
        """Adjust a loaded pipeline (the tiny model's default sizes)."""

    # --- captions and images --------------------------------------------------------------------
    def serialise_caption(self, caption: str) -> str:
        """The caption as the text encoder reads it (for training and for inference alike)."""
        return caption

    def training_caption(self, caption: str) -> str:
        """A dataset caption as the training cache keys and encodes it."""
        return caption

    def inference_prompt(self, prompt: str) -> str:
        """A structured prompt as the pipeline is called with it."""
        return prompt

    def encode_caption(self, pipe: Any, caption: str) -> Any:
        """The text-encoder states of one caption, as the training cache stores them."""
        raise NotImplementedError

    def encode_image(self, pipe: Any, pixels: Any) -> Any:
        """Normalised latents [C, h, w] of one image ([3, H, W] in [-1, 1])."""
        raise NotImplementedError

    def flow_pair(self, transformer: Any, noisy: Any, target: Any, sigma: Any, text: Any, dtype: Any) -> Any:
        """(prediction, target) of one training micro-batch: ``noisy`` and ``target`` are
        [B, C, h, w] (x_t and noise - x0), ``sigma`` [B], ``text`` the cached caption states."""
        raise NotImplementedError

    # --- inference ------------------------------------------------------------------------------
    def pipe_kwargs(self, negative_prompt: str | None) -> dict[str, Any]:
        """Extra call arguments of the pipeline (the negative prompt as the family expects it)."""
        return {"negative_prompt": negative_prompt or ""}

    def save_lora(self, directory: Path, state: dict[str, Any], meta: dict[str, Any]) -> None:
        """Write a LoRA in the diffusers layout the family's pipeline loads."""
        raise NotImplementedError
