"""Image moderation with a transformers image-classification model (hub id or local folder).

An image is blocked when the score of any label named in ``TAILOR_MODERATION_BLOCKED_LABELS`` is
at least ``TAILOR_MODERATION_THRESHOLD``. The pipeline is loaded once per process, on first use.
"""

from __future__ import annotations

import io
import threading
from functools import lru_cache
from typing import Any

from tailor.config import Settings


class ImageModerator:
    def __init__(self, model: str, labels: list[str], threshold: float) -> None:
        self.model = model
        self.labels = {label.lower() for label in labels}
        self.threshold = threshold
        self._pipe: Any = None
        self._lock = threading.Lock()

    def _pipeline(self) -> Any:
        with self._lock:
            if self._pipe is None:
                from transformers import pipeline

                self._pipe = pipeline("image-classification", model=self.model, device="cpu")
            return self._pipe

    def reason(self, image: bytes) -> str | None:
        """Why the image is blocked ("label (score)"), or None when it passes."""
        from PIL import Image

        picture = Image.open(io.BytesIO(image)).convert("RGB")
        scores = self._pipeline()(picture, top_k=None)
        for s in scores:
            if str(s["label"]).lower() in self.labels and float(s["score"]) >= self.threshold:
                return f"{s['label']} ({float(s['score']):.2f})"
        return None


@lru_cache(maxsize=4)
def _moderator(model: str, labels: str, threshold: float) -> ImageModerator:
    return ImageModerator(model, [x.strip() for x in labels.split(",") if x.strip()], threshold)


def image_moderator(settings: Settings) -> ImageModerator | None:
    """The process's moderator for ``settings``, or None when no model is configured."""
    if not settings.moderation_model:
        return None
    return _moderator(
        settings.moderation_model, settings.moderation_blocked_labels, settings.moderation_threshold
    )
