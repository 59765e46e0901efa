"""FIBO's recipe: the values Bria's own fine-tuning and inference code use, in one place.

Everything here follows Bria-AI/FIBO (``src/fine_tuning/`` for training, ``src/fibo_inference/``
and ``generate.py`` for inference). Where Tailor deviates on purpose, the constant says so and
``docs/fibo-recipe.md`` gives the reason. No torch at import time: the layers above may read it.

- **Prompt serialisation.** FIBO reads its structured prompt as *compact* JSON: no space after ``,``
  or ``:``, non-ASCII escaped (``ujson.dumps`` with its defaults, forward slashes unescaped).
  Training captions are re-serialised as they are (every key kept, in its order). Inference keeps
  the fields FIBO knows, in FIBO's order, drops empty values, and sets the aesthetics scores the
  reference inference sets ("very high") when the prompt does not state them.
- **LoRA targets.** Every attention and feed-forward projection plus the AdaLN modulation linears
  (``norm1.linear``, ``norm1_context.linear``, ``norm.linear``) and ``proj_out``.
- **AdamW.** betas (0.9, 0.999), weight decay 1e-4, eps 1e-15 (the reference script's AdamW values).
- **Training resolutions.** Nine ~1 MP buckets; an image goes to the bucket of the closest aspect
  ratio, is resized (bilinear) to cover it and center-cropped.
- **VAE encoding** in float32 (the reference keeps the VAE in full precision).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Literal

# --- prompt serialisation ----------------------------------------------------------------------

#: The top-level fields FIBO's inference keeps, in its order.
PROMPT_FIELDS: tuple[str, ...] = (
    "short_description",
    "objects",
    "background_setting",
    "lighting",
    "aesthetics",
    "photographic_characteristics",
    "style_medium",
    "text_render",
    "context",
    "artistic_style",
)

#: Score fields inside ``aesthetics`` (strings: "very low" ... "very high").
SCORE_FIELDS: tuple[str, ...] = ("preference_score", "aesthetic_score")

#: What the reference inference sets them to (pickascore 1.0 and aesthetic score 10.0 both map to
#: "very high"). Deliberate deviation: a score the prompt states itself is kept, not overwritten.
INFERENCE_SCORES: dict[str, str] = {"preference_score": "very high", "aesthetic_score": "very high"}

SCORE_VALUES: tuple[str, ...] = ("very low", "low", "medium", "high", "very high")


def compact_json(data: Any) -> str:
    """FIBO's JSON text: ``ujson.dumps(data, escape_forward_slashes=False)`` byte for byte for the
    values a structured prompt holds (objects, arrays, strings, integers, booleans, null)."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    # ujson escapes every character above U+007F (as UTF-16 units) and leaves DEL as it is
    return _NON_ASCII.sub(_escape, text)


_NON_ASCII = re.compile("[\u0080-\U0010ffff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def _filled(value: Any) -> bool:
    return not (
        value is None
        or (isinstance(value, (str, list, dict)) and not value)
        or (isinstance(value, float) and math.isnan(value))
    )


def _drop_empty(value: Any) -> Any:
    """Remove None, "", [], {} and NaN recursively, children first (a container that only held
    empty values goes too), as the reference's ``boltons.iterutils.remap`` does."""
    if isinstance(value, dict):
        out = {k: _drop_empty(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if _filled(v)}
    if isinstance(value, list):
        items = [_drop_empty(v) for v in value]
        return [v for v in items if _filled(v)]
    return value


def training_caption(caption: str) -> str:
    """A training caption as FIBO's fine-tuning script feeds it to the text encoder: the JSON
    re-serialised compactly, every key kept in its order. Raises ValueError if it is not JSON."""
    try:
        data = json.loads(caption)
    except json.JSONDecodeError as e:
        raise ValueError(f"a training caption must be JSON: {e.msg} at line {e.lineno}") from e
    return compact_json(data)


def inference_prompt(prompt: str) -> str:
    """A structured prompt as FIBO's reference inference feeds it to the pipeline: FIBO's fields in
    FIBO's order, empty values dropped, aesthetics scores set when absent, compact JSON.

    A text that is not a JSON object (a plain negative prompt, say) is passed through unchanged."""
    try:
        data = json.loads(prompt)
    except json.JSONDecodeError:
        return prompt
    if not isinstance(data, dict):
        return prompt
    out = _drop_empty({f: data[f] for f in PROMPT_FIELDS if f in data})
    aesthetics = out.get("aesthetics")
    if isinstance(aesthetics, dict):
        out["aesthetics"] = {
            **aesthetics,
            **{k: v for k, v in INFERENCE_SCORES.items() if k not in aesthetics},
        }
    elif "aesthetics" not in out:
        # the reference appends the scores' object at the end when the prompt has no aesthetics
        out["aesthetics"] = dict(INFERENCE_SCORES)
    return compact_json(out)


def negative_prompt(text: str) -> str:
    """A negative prompt: compact JSON when it is a JSON object (no scores added), else as is."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return text
    return compact_json(_drop_empty(data)) if isinstance(data, dict) else text


# --- LoRA and optimizer ------------------------------------------------------------------------

#: LoRA target modules (peft suffix match), the reference list.
LORA_TARGET_MODULES: tuple[str, ...] = (
    "attn.to_k",
    "attn.to_q",
    "attn.to_v",
    "attn.to_out.0",
    "attn.add_k_proj",
    "attn.add_q_proj",
    "attn.add_v_proj",
    "attn.to_add_out",
    "ff.net.0.proj",
    "ff.net.2",
    "ff_context.net.0.proj",
    "ff_context.net.2",
    "proj_mlp",
    "norm1_context.linear",
    "norm1.linear",
    "norm.linear",
    "proj_out",
)
LORA_INIT: Literal["gaussian"] = "gaussian"  # lora_alpha = rank

ADAM_BETAS: tuple[float, float] = (0.9, 0.999)
ADAM_WEIGHT_DECAY = 1e-4
ADAM_EPS = 1e-15
MAX_GRAD_NORM = 1.0
#: Deliberate deviation: the reference script defaults to Prodigy at lr 1.0; Tailor trains with
#: AdamW at the learning rate the Tailored Generation API takes (default 1e-4), the reference's
#: other optimizer, because the API's parameters (learning_rate, lr_scheduler, warmup_steps)
#: are AdamW parameters.
OPTIMIZER = "adamw"

# --- data --------------------------------------------------------------------------------------

#: FIBO's training resolutions, (width, height), keyed by aspect ratio width / height.
TRAINING_RESOLUTIONS: dict[float, tuple[int, int]] = {
    0.67: (832, 1248),
    0.778: (896, 1152),
    0.883: (960, 1088),
    1.000: (1024, 1024),
    1.133: (1088, 960),
    1.286: (1152, 896),
    1.462: (1216, 832),
    1.600: (1280, 800),
    1.750: (1344, 768),
}

#: The same aspect ratios at about 128x128 for the tiny model (sides divisible by 16).
TINY_TRAINING_RESOLUTIONS: dict[float, tuple[int, int]] = {
    ratio: (max(16, round(w / 8 / 16) * 16), max(16, round(h / 8 / 16) * 16))
    for ratio, (w, h) in TRAINING_RESOLUTIONS.items()
}

RESIZE_FILTER = "bilinear"  # PIL's (antialiased) bilinear, as torchvision's Resize on PIL images
VAE_ENCODE_DTYPE = "float32"
MAX_SEQUENCE_LENGTH = 3000  # text tokens, as FIBO's pipeline and fine-tuning script
DEFAULT_TOTAL_STEPS = 1501  # the reference script's max_train_steps
DEFAULT_GRAD_ACCUMULATION = 4


def training_resolution(width: int, height: int, *, tiny: bool = False) -> tuple[int, int]:
    """The bucket of an image: the training resolution of the closest aspect ratio (w / h)."""
    table = TINY_TRAINING_RESOLUTIONS if tiny else TRAINING_RESOLUTIONS
    aspect = width / height
    return table[min(table, key=lambda r: abs(r - aspect))]


def cover_size(width: int, height: int, target: tuple[int, int]) -> tuple[int, int]:
    """The size an image is resized to before the center crop to ``target``, as the reference
    computes it (the side that limits scales to the target, the other follows, truncated); never
    smaller than the target, where float rounding would otherwise leave a 1-pixel border."""
    tw, th = target
    scale = th / height if width / height > tw / th else tw / width
    return max(tw, int(width * scale)), max(th, int(height * scale))
