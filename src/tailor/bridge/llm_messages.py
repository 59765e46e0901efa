"""Chat messages for each bridge task, built on bria-vgl's own prompts (Thales dialect).

Captions, generation, inspiration and refinement use bria-vgl's tuned prompt pairs; the visual
schema and the caption prefix, which bria-vgl does not cover, get prompts of their own here. A
dataset's visual schema is given to the model as the fields it must keep.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bria_vgl.dialects import thales
from bria_vgl.prompting import render_prompts
from bria_vgl.utils.images import to_base64_jpeg
from PIL import Image

import tailor.bridge  # noqa: F401  (litellm cost-map setting, before bria_vgl)
from tailor.bridge.image_stats import open_image

_DIALECT = Path(thales.__file__).parent
_PROMPTS = _DIALECT / "prompts"

Messages = list[dict[str, Any]]


def _input_schema(name: str) -> str:
    return (_DIALECT / "input_schema" / f"{name}.txt").read_text(encoding="utf-8")


def image_part(data: bytes | Image.Image) -> dict[str, Any]:
    """An OpenAI-style image part: RGB JPEG, downscaled to about 0.26 MP (as bria-vgl sends them)."""
    img = data if isinstance(data, Image.Image) else open_image(data)
    return {"type": "image_url", "image_url": {"url": f"data:image/jpeg;base64,{to_base64_jpeg(img)}"}}


def _messages(system: str, user: str, images: list[bytes] | None = None) -> Messages:
    content: list[dict[str, Any]] = [{"type": "text", "text": user}]
    content += [image_part(i) for i in images or []]
    return [{"role": "system", "content": system}, {"role": "user", "content": content}]


def _schema_block(schema: dict[str, Any] | None) -> str:
    if not schema:
        return ""
    return (
        "\n\n[VISUAL SCHEMA]\nThese fields describe what stays constant across this visual IP "
        "(its recurring subject, style, medium, palette, lighting). Copy every one of them into your "
        "JSON unchanged, and describe everything else from the input:\n"
        + json.dumps(schema, ensure_ascii=False)
    )


def caption(image: bytes, schema: dict[str, Any] | None) -> Messages:
    system, user = render_prompts(_PROMPTS / "caption", {"llm_input_schema": _input_schema("inspire")})
    return _messages(system, user + _schema_block(schema), [image])


def generate(prompt: str, schema: dict[str, Any] | None, images: list[bytes] | None) -> Messages:
    name = "inspire" if images else "generate"
    context = {"user_prompt": prompt, "llm_input_schema": _input_schema(name)}
    system, user = render_prompts(_PROMPTS / name, context)
    return _messages(system, user + _schema_block(schema), images[:1] if images else None)


def refine(sp: dict[str, Any], instruction: str, *, partial: bool, images: list[bytes] | None) -> Messages:
    context = {
        "user_prompt": instruction,
        "llm_input_schema": _input_schema("inspire"),
        "input_vgl": json.dumps(sp, ensure_ascii=False),
    }
    system, user = render_prompts(_PROMPTS / "refine", context)
    if partial:
        user += (
            "\n\nThe existing JSON is a visual schema: it holds only the fields that stay constant "
            "across an IP. Keep it partial: do not add per-image fields it does not have."
        )
    if images:
        user += "\n\nThe attached images are visual context for the instruction."
    return _messages(system, user, images)


_SCHEMA_SYSTEM = """You are a meticulous Visual Art Director. You receive 5 to 10 sample images of one
visual IP (a character, a product line, an illustration style). Your task is to write its
VISUAL SCHEMA: one JSON object, in the structure described below, that keeps ONLY what is constant
across all the images: the recurring subject's identity and appearance, the artistic style and
medium, the palette, the lighting, the mood and any recurring composition.
Leave out everything that changes from image to image: omit `short_description`,
`background_setting` and `text_render`, and in `objects` omit `location`, `relationship`,
`relative_size`, `pose`, `action` and `orientation`. Omit any field that is not shared by all images.
The output MUST be ONLY a valid JSON object, with no text before or after it.

The structure's keys:

"""


def visual_schema(images: list[bytes]) -> Messages:
    user = f"Here are {len(images)} sample images. Write their visual schema as specified."
    return _messages(_SCHEMA_SYSTEM + _input_schema("inspire"), user, images)


_PREFIX_SYSTEM = """You write caption prefixes for training an image model on one visual IP. Given 1 to 6
sample images, reply with ONE short phrase (at most 15 words) that names what all the images share:
the medium and style and the recurring subject, e.g. "A flat vector illustration of a round orange
robot mascot, ". Reply with the phrase only: no quotes, no JSON, no explanation."""


def prefix(images: list[bytes]) -> Messages:
    return _messages(_PREFIX_SYSTEM, f"Here are {len(images)} sample images.", images)
