"""Scoring models for checkpoint evaluation: CLIP (image and text embeddings) and DINOv2 (image).

``TAILOR_EVAL_MODELS`` names them: ``tiny`` (random-weight CLIP and DINOv2 that this module builds
and saves locally, for CPU development and tests: the scores are reproducible but mean nothing),
or ``clip=<hub id or dir>,dino=<hub id or dir>`` (for example
``clip=openai/clip-vit-base-patch32,dino=facebook/dinov2-small``). Both kinds load through
``from_pretrained``: ``CLIPModel`` with ``AutoTokenizer`` and ``AutoImageProcessor``,
``Dinov2Model`` with ``AutoImageProcessor``. Embeddings are L2-normalised, so a dot product is a
cosine similarity.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tailor.infra.build_once import build_once

TINY_CLIP = "tiny-clip-v1"
TINY_DINO = "tiny-dinov2-v1"
TINY_SEED = 0
TINY_SIDE = 32  # the tiny models' input size


class EvalModelsUnavailable(Exception):
    """``TAILOR_EVAL_MODELS`` names models that cannot be loaded, or is malformed."""


@dataclass(frozen=True)
class EvalModels:
    """Where the two scoring models load from."""

    clip: str
    dino: str

    @property
    def name(self) -> str:
        """Identifies the scores: a reference taken with other models is not comparable."""
        return f"clip={self.clip},dino={self.dino}"


def parse_eval_models(value: str, models_dir: Path) -> EvalModels | None:
    """The scoring models of the setting; None when evaluation is off (empty or ``off``)."""
    text = (value or "").strip()
    if text in ("", "off", "none"):
        return None
    if text == "tiny":
        clip, dino = ensure_tiny_scorers(models_dir)
        return EvalModels(clip=str(clip), dino=str(dino))
    parts: dict[str, str] = {}
    for item in text.split(","):
        key, sep, val = item.partition("=")
        if not sep or key.strip() not in ("clip", "dino") or not val.strip():
            raise EvalModelsUnavailable(
                f"TAILOR_EVAL_MODELS={value!r}: expected 'tiny', 'off' or 'clip=<id or dir>,dino=<id or dir>'"
            )
        parts[key.strip()] = val.strip()
    if set(parts) != {"clip", "dino"}:
        raise EvalModelsUnavailable(f"TAILOR_EVAL_MODELS={value!r}: name both clip= and dino=")
    return EvalModels(clip=parts["clip"], dino=parts["dino"])


# --- the tiny scoring models -------------------------------------------------------------------


def _tiny_tokenizer() -> Any:
    """The tiny FIBO model's tokenizer, ending every text with its end token (CLIP pools there)."""
    from tokenizers import processors

    from tailor.engine.tiny import build_tokenizer

    tok = build_tokenizer()
    tok._tokenizer.post_processor = processors.TemplateProcessing(
        single="$A <|end_of_text|>", special_tokens=[("<|end_of_text|>", tok.eos_token_id)]
    )
    tok.model_max_length = 77
    return tok


def _build_tiny_clip(path: Path) -> None:
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel

    tok = _tiny_tokenizer()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(TINY_SEED)
        model = CLIPModel(
            CLIPConfig(
                text_config={
                    "vocab_size": len(tok),
                    "hidden_size": 32,
                    "intermediate_size": 64,
                    "num_hidden_layers": 1,
                    "num_attention_heads": 2,
                    "max_position_embeddings": 77,
                    "eos_token_id": tok.eos_token_id,
                    "bos_token_id": tok.eos_token_id,
                    "pad_token_id": tok.pad_token_id,
                },
                vision_config={
                    "hidden_size": 32,
                    "intermediate_size": 64,
                    "num_hidden_layers": 1,
                    "num_attention_heads": 2,
                    "image_size": TINY_SIDE,
                    "patch_size": 8,
                },
                projection_dim=16,
            )
        )
    model.save_pretrained(path, safe_serialization=True)
    tok.save_pretrained(path)
    CLIPImageProcessor(
        size={"shortest_edge": TINY_SIDE}, crop_size={"height": TINY_SIDE, "width": TINY_SIDE}
    ).save_pretrained(path)


def _build_tiny_dino(path: Path) -> None:
    import torch
    from transformers import BitImageProcessor, Dinov2Config, Dinov2Model

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(TINY_SEED)
        model = Dinov2Model(
            Dinov2Config(
                hidden_size=32,
                num_hidden_layers=1,
                num_attention_heads=2,
                mlp_ratio=2,
                image_size=TINY_SIDE,
                patch_size=8,
            )
        )
    model.save_pretrained(path, safe_serialization=True)
    BitImageProcessor(
        size={"shortest_edge": TINY_SIDE},
        crop_size={"height": TINY_SIDE, "width": TINY_SIDE},
        do_convert_rgb=True,
    ).save_pretrained(path)


def _ensure(models_dir: Path, name: str, build: Any) -> Path:
    """Build (once, under a file lock, atomically) and save one tiny model; return its directory."""
    return build_once(Path(models_dir) / name, build, lambda path: (path / "config.json").is_file())


def ensure_tiny_scorers(models_dir: Path) -> tuple[Path, Path]:
    """The tiny CLIP and DINOv2 directories, built on first use."""
    return _ensure(models_dir, TINY_CLIP, _build_tiny_clip), _ensure(models_dir, TINY_DINO, _build_tiny_dino)


# --- scoring -----------------------------------------------------------------------------------


def _features(out: Any) -> Any:
    """transformers returns a tensor or (v5) an output whose ``pooler_output`` is the projection."""
    return out if hasattr(out, "shape") else out.pooler_output


class Scorer:
    """CLIP and DINOv2 embeddings on the CPU (scoring a handful of images needs no GPU)."""

    def __init__(self, models: EvalModels) -> None:
        import torch
        from transformers import AutoImageProcessor, AutoTokenizer, CLIPModel, Dinov2Model

        self.name = models.name
        try:
            self.clip = CLIPModel.from_pretrained(models.clip).eval()
            self.clip_tokenizer = AutoTokenizer.from_pretrained(models.clip)
            self.clip_processor = AutoImageProcessor.from_pretrained(models.clip)
            self.dino = Dinov2Model.from_pretrained(models.dino).eval()
            self.dino_processor = AutoImageProcessor.from_pretrained(models.dino)
        except Exception as e:  # missing dirs, hub errors, wrong architectures come in many types
            raise EvalModelsUnavailable(f"cannot load the scoring models ({models.name}): {e}") from e
        self._torch = torch

    def _normalise(self, x: Any) -> Any:
        return self._torch.nn.functional.normalize(x.float(), dim=-1)

    def clip_images(self, images: list[Any]) -> Any:
        with self._torch.no_grad():
            px = self.clip_processor(images=images, return_tensors="pt")["pixel_values"]
            return self._normalise(_features(self.clip.get_image_features(pixel_values=px)))

    def clip_texts(self, texts: list[str]) -> Any:
        with self._torch.no_grad():
            enc = self.clip_tokenizer(
                texts, padding=True, truncation=True, max_length=77, return_tensors="pt"
            )
            return self._normalise(_features(self.clip.get_text_features(**enc)))

    def dino_images(self, images: list[Any]) -> Any:
        with self._torch.no_grad():
            px = self.dino_processor(images=images, return_tensors="pt")["pixel_values"]
            return self._normalise(self.dino(pixel_values=px).pooler_output)


@dataclass(frozen=True)
class Reference:
    """The dataset's embeddings, computed once per evaluation run."""

    clip: Any
    dino: Any


def reference(scorer: Scorer, images: list[Any]) -> Reference:
    return Reference(clip=scorer.clip_images(images), dino=scorer.dino_images(images))


def score(scorer: Scorer, ref: Reference, outputs: list[Any], texts: list[str]) -> dict[str, Any]:
    """DreamBooth's measures for rendered ``outputs`` (one per validation prompt ``texts``):

    - ``dino`` / ``clip_i``: mean cosine similarity of every output to every dataset image;
    - ``clip_t``: mean cosine similarity of each output to its own prompt;
    - ``memorisation``: the highest similarity of any output to its nearest dataset image (DINO),
      with ``nearest`` per output: close to 1 means a copy of a training image.
    """
    out_dino = scorer.dino_images(outputs)
    out_clip = scorer.clip_images(outputs)
    text = scorer.clip_texts(texts)
    dino_sim = out_dino @ ref.dino.T
    clip_sim = out_clip @ ref.clip.T
    nearest = dino_sim.max(dim=1).values
    per_prompt = (out_clip * text).sum(dim=1)
    return {
        "dino": round(float(dino_sim.mean()), 6),
        "clip_i": round(float(clip_sim.mean()), 6),
        "clip_t": round(float(per_prompt.mean()), 6),
        "memorisation": round(float(nearest.max()), 6),
        "per_image": [
            {"clip_t": round(float(t), 6), "nearest": round(float(n), 6)}
            for t, n in zip(per_prompt.tolist(), nearest.tolist(), strict=True)
        ],
    }
