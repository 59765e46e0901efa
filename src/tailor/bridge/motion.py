"""The motion prompt of an image-to-video clip, from the image's structured description.

The description is the bridge's caption of the image against the tailored model's visual schema,
so the subject, the IP's name and the medium are worded as training saw them. Motion is chosen
for the project's IP type (a character moves, an object turns or floats, a scene lives under a
slow camera) by the request's seed, so the same request gives the same prompt with any provider.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any

# IP type -> motions that suit it (Bria's IP types; "other" for anything else).
MOTIONS: dict[str, tuple[str, ...]] = {
    "defined_character": (
        "turns its head gently toward the camera and blinks, breathing softly",
        "waves one hand and smiles, its body swaying slightly",
        "takes a small step forward while its hair and clothes move in a light breeze",
        "looks around curiously, then back at the viewer with a small nod",
    ),
    "character_variants": (
        "turns its head gently toward the camera and blinks, breathing softly",
        "bounces lightly in place with a cheerful expression",
        "waves one hand while its body sways slightly",
    ),
    "object_variants": (
        "rotates slowly on the spot as light glides across its surface",
        "floats gently up and down above a soft shadow",
        "is circled by a slow camera orbit that reveals its sides",
    ),
    "multi_object_set": (
        "the objects float gently, each bobbing at its own pace",
        "the objects rotate slowly in place as light glides across them",
        "a slow camera push-in while the objects sway slightly",
    ),
    "icons": (
        "pulses softly, growing slightly and settling back, as in an app animation",
        "rotates a quarter turn and back with a smooth ease",
        "bounces once and settles, with a subtle glow",
    ),
    "stylized_scene": (
        "the camera pushes in slowly while clouds drift and foliage sways",
        "a slow pan across the scene as light shifts and small details move",
        "ambient life: drifting particles, moving water and swaying leaves, camera steady",
    ),
    "other": (
        "subtle natural motion with a slow camera push-in",
        "gentle ambient movement, camera steady",
        "a slow camera orbit with soft, natural motion in the scene",
    ),
}


@dataclass(frozen=True)
class Subject:
    """What the project says of its IP (``ip_name`` is set for a defined character)."""

    ip_type: str | None = None
    ip_name: str | None = None
    ip_medium: str | None = None


def _text(value: Any) -> str:
    return " ".join(str(value).split()).strip().rstrip(".") if isinstance(value, str) else ""


def choose_motion(ip_type: str | None, seed: int) -> str:
    options = MOTIONS.get(ip_type or "", MOTIONS["other"])
    return random.Random(seed).choice(options)


def motion_prompt(description: str, subject: Subject, seed: int) -> str:
    """A prompt that restates the first frame (so the look is kept) and says how it moves."""
    try:
        sp = json.loads(description)
    except ValueError:
        sp = {}
    sp = sp if isinstance(sp, dict) else {}
    scene = _text(sp.get("short_description")) or "The scene of the first frame"
    medium = _text(sp.get("style_medium")) or _text(subject.ip_medium)
    style = _text(sp.get("artistic_style"))
    parts = [scene + "."]
    motion = choose_motion(subject.ip_type, seed)
    if subject.ip_name and subject.ip_type == "defined_character":
        parts.append(f"{subject.ip_name} {motion}.")
    else:
        parts.append(motion[0].upper() + motion[1:] + ".")
    look = ", ".join(x for x in (medium, style) if x)
    keep = "Keep the exact look of the first frame throughout"
    parts.append(f"{keep}: {look}, same colours, proportions and line work." if look else f"{keep}.")
    parts.append("Smooth, continuous motion; no cuts, no text.")
    return " ".join(parts)
