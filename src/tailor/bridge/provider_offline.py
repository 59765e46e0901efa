"""The offline provider: no network, no model; deterministic descriptions derived from the inputs.

Images are described from measurements (palette named in words, brightness and contrast as
lighting, where the salient mass sits as composition, aspect as framing); text prompts from their
words. It is a fallback that keeps Tailor working end to end on one machine, not a vision model:
it cannot recognise what an object *is*. Set ``TAILOR_VLM`` to a litellm model id for real captions.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from tailor.bridge import image_stats as st
from tailor.bridge.image_stats import ImageStats, analyze, join_words
from tailor.bridge.offline_refine import refine_offline
from tailor.bridge.offline_text import describe_prompt
from tailor.bridge.prompts import dumps
from tailor.bridge.provider_base import ReplyCheck, VlmProvider
from tailor.bridge.schema_merge import overlay_schema


def _medium(s: ImageStats) -> tuple[str, str]:
    return ("flat digital illustration", "flat graphic") if s.flat else ("photograph", "realistic")


def _subject_phrase(s: ImageStats) -> str:
    colors = join_words(s.subject_colors[:2]) or "neutral"
    return f"a {s.subject_size} {colors} subject"


def describe_image(s: ImageStats) -> dict[str, Any]:
    """A full structured prompt for an image, from its measurements."""
    medium, artistic = _medium(s)
    subject = _subject_phrase(s)
    background = join_words(s.background_colors) or "neutral"
    sp: dict[str, Any] = {
        "short_description": (
            f"A {medium} in a {st.framing(s.aspect)} showing {subject} at the {s.subject_location} "
            f"against a {background} background, in {st.lighting_conditions(s)}."
        ),
        "objects": [
            {
                "description": "the main subject, predominantly "
                + (join_words(s.subject_colors[:2]) or "neutral"),
                "location": s.subject_location,
                "relationship": f"stands out against the {background} background",
                "relative_size": f"{s.subject_size} within frame",
                "shape_and_color": f"{join_words(s.subject_colors) or 'neutral'} tones",
                "texture": "smooth, flat color areas"
                if s.flat
                else ("finely detailed" if s.detail > 0.35 else "smooth"),
            }
        ],
        "background_setting": f"A {background} background filling the rest of the {st.framing(s.aspect)}.",
        "lighting": {
            "conditions": st.lighting_conditions(s),
            "direction": st.lighting_direction(s),
            "shadows": st.shadows(s),
        },
        "aesthetics": {
            "composition": st.composition(s),
            "color_scheme": st.color_scheme(s),
            "mood_atmosphere": st.mood(s),
        },
        "style_medium": medium,
        "artistic_style": artistic,
        "context": f"A {s.width}x{s.height} image; described from measured color, light and layout.",
    }
    if not s.flat:
        sp["photographic_characteristics"] = {
            "depth_of_field": "deep" if s.detail > 0.35 else "shallow",
            "focus": "sharp focus throughout" if s.detail > 0.35 else "soft focus on the subject",
            "camera_angle": "eye-level",
            "lens_focal_length": "wide-angle" if s.aspect > 1.9 else "standard",
        }
    return sp


def _majority(values: list[str], share: float = 0.8) -> str | None:
    value, n = Counter(values).most_common(1)[0]
    return value if n >= share * len(values) else None


def schema_from_stats(stats: list[ImageStats]) -> dict[str, Any]:
    """What the sample images share, as a partial structured prompt."""
    schema: dict[str, Any] = {}
    medium = _majority([_medium(s)[0] for s in stats])
    if medium:
        schema["style_medium"] = medium
        schema["artistic_style"] = _majority([_medium(s)[1] for s in stats])
    common = [c for c in stats[0].palette if sum(c in s.palette for s in stats) >= 0.8 * len(stats)]
    aesthetics: dict[str, str] = {}
    if common:
        aesthetics["color_scheme"] = f"recurring palette of {join_words(common[:4])}"
    for key, fn in (("mood_atmosphere", st.mood), ("composition", st.composition)):
        if value := _majority([fn(s) for s in stats]):
            aesthetics[key] = value
    if aesthetics:
        schema["aesthetics"] = aesthetics
    lighting = {}
    for key, fn in (
        ("conditions", st.lighting_conditions),
        ("direction", st.lighting_direction),
        ("shadows", st.shadows),
    ):
        if value := _majority([fn(s) for s in stats]):
            lighting[key] = value
    if lighting:
        schema["lighting"] = lighting
    subject = [
        c for c in stats[0].subject_colors if sum(c in s.subject_colors for s in stats) >= 0.8 * len(stats)
    ]
    if subject:
        schema["objects"] = [
            {
                "description": f"the recurring main subject, predominantly {join_words(subject[:2])}",
                "shape_and_color": f"{join_words(subject)} tones",
            }
        ]
    schema["context"] = (
        f"Visual schema drawn from {len(stats)} sample images"
        + (f" sharing a {medium} look" if medium else "")
        + (f" and a palette of {join_words(common[:3])}" if common else "")
        + "."
    )
    return schema


class OfflineProvider(VlmProvider):
    """Deterministic descriptions from image measurements and prompt words."""

    name = "offline"

    def caption(self, image: bytes, visual_schema: dict[str, Any] | None, check: ReplyCheck) -> str:
        sp = overlay_schema(describe_image(analyze(image)), visual_schema)
        return check(dumps(sp))

    def visual_schema(self, images: list[bytes], check: ReplyCheck) -> str:
        return check(dumps(schema_from_stats([analyze(i) for i in images])))

    def generate(
        self,
        prompt: str,
        *,
        visual_schema: dict[str, Any] | None,
        images: list[bytes] | None,
        seed: int | None,
        check: ReplyCheck,
    ) -> str:
        medium = (visual_schema or {}).get("style_medium")
        default_style = None
        if isinstance(medium, str) and medium:
            default_style = (medium, str((visual_schema or {}).get("artistic_style") or medium))
        sp = describe_prompt(prompt, default_style)
        if images:
            s = analyze(images[0])
            sp["aesthetics"]["color_scheme"] = (
                f"{sp['aesthetics']['color_scheme']}, echoing the reference's {st.color_scheme(s)}"
            )
            sp["lighting"]["conditions"] = (
                f"{sp['lighting']['conditions']}, like the reference's {st.lighting_conditions(s)}"
            )
        return check(dumps(overlay_schema(sp, visual_schema)))

    def refine(
        self,
        structured_prompt: dict[str, Any],
        instruction: str,
        *,
        partial: bool,
        images: list[bytes] | None,
        seed: int | None,
        check: ReplyCheck,
    ) -> str:
        return check(dumps(refine_offline(structured_prompt, instruction, partial=partial)))

    def prefix(self, images: list[bytes], check: ReplyCheck) -> str:
        schema = schema_from_stats([analyze(i) for i in images])
        medium = schema.get("style_medium", "image")
        parts = [f"A {medium}"]
        if objects := schema.get("objects"):
            parts.append(f"of {objects[0]['description'].removeprefix('the ')}")
        if scheme := schema.get("aesthetics", {}).get("color_scheme"):
            parts.append(f"with a {scheme}")
        return check(" ".join(parts) + ", ")
