"""Reading a text prompt's words into structured-prompt fields, for the offline provider.

Plain keyword and phrase rules: what the prompt says about medium, light, mood, colour, camera,
setting and quoted text lands in the matching field; what it does not say gets a neutral default.
"""

from __future__ import annotations

import re
from typing import Any

from tailor.bridge.image_stats import join_words

STYLES = (
    ("pixel art", "pixel art", "retro pixel"),
    ("watercolor", "watercolor painting", "loose watercolor"),
    ("watercolour", "watercolor painting", "loose watercolor"),
    ("oil painting", "oil painting", "painterly"),
    ("pencil", "pencil sketch", "hand-drawn"),
    ("sketch", "pencil sketch", "hand-drawn"),
    ("anime", "anime illustration", "anime"),
    ("cartoon", "cartoon illustration", "cartoonish"),
    ("3d render", "3D render", "smooth 3D"),
    ("3d", "3D render", "smooth 3D"),
    ("vector", "flat vector illustration", "flat graphic"),
    ("icon", "flat vector icon", "minimalist flat"),
    ("illustration", "digital illustration", "illustrative"),
    ("painting", "painting", "painterly"),
    ("photo", "photograph", "realistic"),
)

LIGHTS = (
    ("golden hour", "warm golden-hour sunlight", "low sun from the side"),
    ("sunset", "warm sunset light", "low sun from behind the scene"),
    ("sunrise", "soft sunrise light", "low sun from the side"),
    ("moonlight", "cool moonlight", "from above"),
    ("night", "night-time darkness with pools of artificial light", "from scattered light sources"),
    ("neon", "colorful neon light", "from the neon signs"),
    ("candle", "warm candlelight", "from a nearby flame"),
    ("studio", "even studio lighting", "front-lit with softboxes"),
    ("overcast", "soft overcast daylight", "diffuse from above"),
    ("dramatic", "dramatic chiaroscuro lighting", "hard side light"),
    ("sunny", "bright sunny daylight", "from above"),
    ("daylight", "bright natural daylight", "from above"),
)

MOODS = (
    ("cozy", "cozy and warm"),
    ("spooky", "eerie and spooky"),
    ("mysterious", "mysterious"),
    ("happy", "joyful and upbeat"),
    ("joyful", "joyful and upbeat"),
    ("sad", "melancholic"),
    ("melancholy", "melancholic"),
    ("calm", "calm and serene"),
    ("serene", "calm and serene"),
    ("peaceful", "calm and serene"),
    ("epic", "epic and grand"),
    ("playful", "playful"),
    ("romantic", "romantic"),
    ("energetic", "energetic"),
)

CAMERAS = (
    ("close-up", "eye-level close-up", "macro", "shallow"),
    ("closeup", "eye-level close-up", "macro", "shallow"),
    ("macro", "extreme close-up", "macro", "very shallow"),
    ("portrait", "eye-level", "85mm portrait lens", "shallow"),
    ("aerial", "high aerial view", "wide-angle", "deep"),
    ("bird's-eye", "bird's-eye view", "wide-angle", "deep"),
    ("low angle", "low angle", "wide-angle", "medium"),
    ("wide", "eye-level wide shot", "wide-angle", "deep"),
    ("landscape", "eye-level wide shot", "wide-angle", "deep"),
)

COLORS = (
    "red", "orange", "yellow", "green", "teal", "turquoise", "blue", "navy", "purple", "violet",
    "pink", "magenta", "brown", "beige", "gold", "golden", "silver", "black", "white", "gray", "grey",
    "pastel", "monochrome",
)  # fmt: skip

_PREP = re.compile(
    r"\b(?:in|at|inside|on|under|beneath|over|near|by|among|across|against)\s+(?:an?\s+|the\s+)?", re.I
)
_QUOTED = re.compile(r"[\"“]([^\"”]{1,80})[\"”]|(?<![A-Za-z])'([^']{1,80})'(?![A-Za-z])")


def words_in(text: str, word: str) -> bool:
    return re.search(rf"(?<![a-z]){re.escape(word)}(?![a-z])", text) is not None


def first_match(text: str, table: tuple[tuple[str, ...], ...]) -> tuple[str, ...] | None:
    low = text.lower()
    return next((row for row in table if words_in(low, row[0])), None)


def quoted_texts(text: str) -> list[str]:
    return [a or b for a, b in _QUOTED.findall(text)]


def subject_and_setting(prompt: str) -> tuple[str, str | None]:
    """Split 'a fox reading a book in a snowy forest' into its subject and its setting."""
    clean = _QUOTED.sub("", prompt).strip().rstrip(".!")
    head = re.split(r"[,;]", clean, maxsplit=1)[0].strip()
    m = _PREP.search(head)
    if m and m.start() > 0:
        subject, setting = head[: m.start()].strip(), head[m.start() :].strip()
        return subject, setting
    tail = None
    for m in _PREP.finditer(clean):
        tail = clean[m.start() :].split(",")[0].strip()
    return head or clean or prompt.strip(), tail


def colors_in(text: str) -> list[str]:
    low = text.lower()
    return [c for c in COLORS if words_in(low, c)]


def describe_prompt(prompt: str, default_style: tuple[str, str] | None = None) -> dict[str, Any]:
    """A full structured prompt for ``prompt`` from its words alone; ``default_style`` (medium,
    artistic style) applies when the prompt names no style, e.g. the visual schema's."""
    text = " ".join(prompt.split())
    subject, setting = subject_and_setting(text)
    style = first_match(text, STYLES)
    fallback = default_style or ("photograph", "realistic")
    style_medium, artistic = (style[1], style[2]) if style else fallback
    light = first_match(text, LIGHTS)
    mood_row = first_match(text, MOODS)
    camera = first_match(text, CAMERAS)
    colors = colors_in(text)
    sp: dict[str, Any] = {
        "short_description": f"A {style_medium} of {text[0].lower() + text[1:] if text else text}.",
        "objects": [
            {
                "description": subject,
                "location": "center",
                "relationship": "the main subject of the scene",
                "relative_size": "large within frame",
            }
        ],
        "background_setting": f"The scene is set {setting}."
        if setting
        else "A simple, uncluttered backdrop that keeps attention on the subject.",
        "lighting": {
            "conditions": light[1] if light else "soft natural light",
            "direction": light[2] if light else "gently from the front",
            "shadows": "long, pronounced shadows"
            if light and light[0] in ("sunset", "dramatic", "golden hour")
            else "soft shadows",
        },
        "aesthetics": {
            "composition": "centered subject with balanced negative space",
            "color_scheme": f"palette built on {join_words(colors)}"
            if colors
            else "natural, harmonious colors",
            "mood_atmosphere": mood_row[1]
            if mood_row
            else ("moody" if light and light[0] in ("night", "moonlight") else "pleasant and inviting"),
        },
        "style_medium": style_medium,
        "artistic_style": artistic,
        "context": f'Made for the request "{text}".',
    }
    if style_medium == "photograph" or camera:
        sp["photographic_characteristics"] = {
            "depth_of_field": camera[3] if camera else "medium",
            "focus": "sharp focus on the subject",
            "camera_angle": camera[1] if camera else "eye-level",
            "lens_focal_length": camera[2] if camera else "standard 50mm",
        }
    texts = quoted_texts(text)
    if texts:
        sp["text_render"] = [
            {
                "text": t,
                "location": "top center",
                "size": "medium",
                "color": "white",
                "font": "bold sans-serif",
            }
            for t in texts
        ]
    return sp
