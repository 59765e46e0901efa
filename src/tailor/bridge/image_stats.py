"""Measured facts about an image (palette, light, salient mass, framing), put into words.

The offline provider describes images with these: no model, no network, the same bytes always give
the same words.
"""

from __future__ import annotations

import colorsys
import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps

from tailor.domain.errors import UnsupportedMedia

_SIDE = 96  # analysis resolution (longest side)


@dataclass(frozen=True)
class ImageStats:
    """What the offline provider knows about one image."""

    width: int
    height: int
    palette: tuple[str, ...]  # colour names, most covering first
    subject_colors: tuple[str, ...]  # colours of the salient region
    background_colors: tuple[str, ...]  # colours of the border region
    brightness: float  # 0..1 mean luminance
    contrast: float  # 0..1 luminance spread
    saturation: float  # 0..1 mean saturation
    warmth: float  # -1 (cool) .. 1 (warm)
    light_from: str  # "left", "right", "above", "below", "front"
    subject_location: str  # "center", "top-left", ...
    subject_size: str  # "small", "medium", "large"
    flat: bool  # few distinct colours, little texture: illustration-like
    detail: float  # 0..1 edge density

    @property
    def aspect(self) -> float:
        return self.width / self.height


def open_image(data: bytes, *, field: str = "image") -> Image.Image:
    """Decode bytes as an image (RGB, orientation applied), or raise UnsupportedMedia."""
    try:
        img: Image.Image = Image.open(io.BytesIO(data))
        img.load()
    except Exception as e:  # PIL raises many types for bad data
        raise UnsupportedMedia(f"{field} is not a readable image", field=field) from e
    img = ImageOps.exif_transpose(img) or img
    if img.mode in ("RGBA", "LA", "P"):
        img = img.convert("RGBA")
        background = Image.new("RGBA", img.size, (0, 0, 0, 255))
        img = Image.alpha_composite(background, img)
    return img.convert("RGB")


# --- colour names -----------------------------------------------------------------------------

_HUES = (
    (15, "red"),
    (40, "orange"),
    (65, "yellow"),
    (80, "lime"),
    (160, "green"),
    (190, "teal"),
    (250, "blue"),
    (290, "purple"),
    (330, "magenta"),
    (360, "red"),
)


def color_name(rgb: tuple[float, float, float]) -> str:
    """A plain-words name for an sRGB colour (0..255), e.g. 'dark blue', 'pale pink', 'white'."""
    r, g, b = (c / 255.0 for c in rgb)
    h, lig, s = colorsys.rgb_to_hls(r, g, b)
    if s < 0.15 or (lig > 0.92) or (lig < 0.08):
        if lig < 0.12:
            return "black"
        if lig > 0.88:
            return "white"
        if lig < 0.35:
            return "dark gray"
        if lig > 0.7:
            return "light gray"
        return "gray"
    deg = h * 360
    hue = next(name for limit, name in _HUES if deg < limit)
    if hue in ("orange", "red") and lig < 0.35 and s < 0.7:
        return "brown"
    if hue == "orange" and lig < 0.45:
        return "brown"
    if hue == "red" and lig > 0.7:
        return "pink"
    if hue == "magenta" and lig > 0.65:
        return "pink"
    if lig < 0.3:
        return f"dark {hue}"
    if lig > 0.75:
        return f"pale {hue}"
    if s > 0.75 and 0.4 < lig < 0.65:
        return f"vivid {hue}"
    return hue


def _names(pixels: np.ndarray, k: int = 5) -> tuple[str, ...]:
    """Colour names covering the most of ``pixels`` (N x 3), most first, merged by name."""
    if len(pixels) == 0:
        return ()
    q = (pixels // 32).astype(np.int32)
    codes = q[:, 0] * 64 + q[:, 1] * 8 + q[:, 2]
    counts = np.bincount(codes, minlength=512)
    families: dict[str, dict[str, int]] = {}  # 'blue' -> {'dark blue': n, 'blue': m}
    for code in np.argsort(-counts, kind="stable")[:24]:
        if counts[code] == 0:
            break
        sel = pixels[codes == code]
        name = color_name(tuple(sel.mean(axis=0)))
        family = families.setdefault(name.split()[-1], {})
        family[name] = family.get(name, 0) + int(counts[code])
    weights = {max(f.items(), key=lambda kv: (kv[1], kv[0]))[0]: sum(f.values()) for f in families.values()}
    total = sum(weights.values())
    ranked = sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))
    return tuple(name for name, n in ranked[:k] if n >= 0.04 * total or name == ranked[0][0])


# --- measurement ------------------------------------------------------------------------------


def _location(cx: float, cy: float) -> str:
    col = "left" if cx < 0.4 else "right" if cx > 0.6 else ""
    row = "top" if cy < 0.4 else "bottom" if cy > 0.6 else ""
    if not col and not row:
        return "center"
    if col and row:
        return f"{row}-{col}"
    return f"{row} center" if row else f"center {col}"


def analyze(data: bytes | Image.Image) -> ImageStats:
    """Measure an image (bytes or a PIL image)."""
    img = data if isinstance(data, Image.Image) else open_image(data)
    width, height = img.size
    small = img.convert("RGB").copy()
    small.thumbnail((_SIDE, _SIDE), Image.Resampling.BILINEAR)
    arr = np.asarray(small, dtype=np.float32)
    h, w, _ = arr.shape
    lum = (0.2126 * arr[..., 0] + 0.7152 * arr[..., 1] + 0.0722 * arr[..., 2]) / 255.0
    mx, mn = arr.max(axis=2), arr.min(axis=2)
    sat = np.where(mx > 0, (mx - mn) / np.maximum(mx, 1e-6), 0.0)

    # background: the border ring; salient: pixels far from the border's mean colour
    ring = max(1, min(h, w) // 10)
    border = np.concatenate(
        [
            arr[:ring].reshape(-1, 3),
            arr[-ring:].reshape(-1, 3),
            arr[:, :ring].reshape(-1, 3),
            arr[:, -ring:].reshape(-1, 3),
        ]
    )
    bg_mean = border.mean(axis=0)
    dist = np.linalg.norm(arr - bg_mean, axis=2)
    thresh = max(40.0, float(np.percentile(dist, 60)))
    mask = dist > thresh
    if mask.sum() < 0.01 * h * w:
        mask = dist >= float(dist.max()) * 0.8 if dist.max() > 10 else np.zeros_like(mask)
    ys, xs = np.nonzero(mask)
    if len(xs):
        weights = dist[ys, xs]
        cx = float((xs * weights).sum() / weights.sum()) / max(w - 1, 1)
        cy = float((ys * weights).sum() / weights.sum()) / max(h - 1, 1)
        frac = len(xs) / (h * w)
        size = "large" if frac > 0.35 else "medium" if frac > 0.08 else "small"
        subject = arr[mask].reshape(-1, 3)
    else:
        cx = cy = 0.5
        size = "large"
        subject = arr.reshape(-1, 3)

    # light direction: the brighter half, when clearly brighter
    left, right = lum[:, : w // 2].mean(), lum[:, w - w // 2 :].mean()
    top, bottom = lum[: h // 2].mean(), lum[h - h // 2 :].mean()
    dx, dy = right - left, bottom - top
    if max(abs(dx), abs(dy)) < 0.06:
        light_from = "front"
    elif abs(dx) >= abs(dy):
        light_from = "right" if dx > 0 else "left"
    else:
        light_from = "below" if dy > 0 else "above"

    gy, gx = np.gradient(lum)
    detail = float(np.clip(np.hypot(gx, gy).mean() * 8, 0, 1))
    q = (arr // 8).astype(np.int32)
    _, counts = np.unique(q[..., 0] * 1024 + q[..., 1] * 32 + q[..., 2], return_counts=True)
    flat = float(np.sort(counts)[-8:].sum()) / (h * w) > 0.7  # a few flat colours cover the image

    hue = np.asarray(
        [colorsys.rgb_to_hls(*(p / 255.0))[0] for p in arr.reshape(-1, 3)[:: max(1, h * w // 1024)]]
    )
    sat_s = sat.reshape(-1)[:: max(1, h * w // 1024)][: len(hue)]
    warm = ((hue < 0.17) | (hue > 0.92)).astype(np.float32)
    cool = ((hue > 0.45) & (hue < 0.75)).astype(np.float32)
    denom = float(sat_s.sum()) or 1.0
    warmth = float(((warm - cool) * sat_s).sum() / denom) if sat_s.sum() > 1e-3 else 0.0

    return ImageStats(
        width=width,
        height=height,
        palette=_names(arr.reshape(-1, 3)),
        subject_colors=_names(subject, 3),
        background_colors=_names(border, 2),
        brightness=round(float(lum.mean()), 3),
        contrast=round(float(np.clip(lum.std() * 3.0, 0, 1)), 3),
        saturation=round(float(sat.mean()), 3),
        warmth=round(warmth, 3),
        light_from=light_from,
        subject_location=_location(cx, cy),
        subject_size=size,
        flat=bool(flat),
        detail=round(detail, 3),
    )


# --- words ------------------------------------------------------------------------------------


def join_words(words: tuple[str, ...] | list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    words = list(words)
    if not words:
        return ""
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " and " + words[-1]


def framing(aspect: float) -> str:
    if aspect > 1.9:
        return "panoramic wide frame"
    if aspect > 1.15:
        return "horizontal landscape frame"
    if aspect < 0.55:
        return "tall vertical frame"
    if aspect < 0.87:
        return "vertical portrait frame"
    return "square frame"


def lighting_conditions(s: ImageStats) -> str:
    key = "bright, high-key" if s.brightness > 0.68 else "dim, low-key" if s.brightness < 0.3 else "balanced"
    hard = (
        "hard, high-contrast"
        if s.contrast > 0.6
        else "soft, diffuse"
        if s.contrast < 0.25
        else "moderate-contrast"
    )
    return f"{key} {hard} lighting"


def lighting_direction(s: ImageStats) -> str:
    return {
        "front": "even, front-lit",
        "left": "side-lit from the left",
        "right": "side-lit from the right",
        "above": "lit from above",
        "below": "lit from below",
    }[s.light_from]


def shadows(s: ImageStats) -> str:
    if s.contrast > 0.6:
        return "deep, well-defined shadows"
    if s.contrast < 0.25:
        return "faint, soft shadows"
    return "gentle shadows"


def color_scheme(s: ImageStats) -> str:
    tone = "warm" if s.warmth > 0.25 else "cool" if s.warmth < -0.25 else "neutral"
    vivid = "saturated" if s.saturation > 0.5 else "muted" if s.saturation < 0.2 else "moderately saturated"
    return f"{vivid} {tone} palette of {join_words(s.palette[:4])}"


def mood(s: ImageStats) -> str:
    if s.brightness < 0.3:
        return "moody and mysterious" if s.contrast > 0.4 else "quiet and somber"
    if s.saturation > 0.5:
        return "energetic and joyful" if s.warmth >= 0 else "fresh and lively"
    if s.brightness > 0.68:
        return "airy and serene"
    return "calm and balanced"


def composition(s: ImageStats) -> str:
    place = (
        "centered" if s.subject_location == "center" else f"off-center, weighted to the {s.subject_location}"
    )
    return f"{place} subject in a {framing(s.aspect)}"
