"""One module per job kind; :func:`build_registry` registers them all (the composition root calls it).

Adding a kind: declare it in ``tailor.domain.jobs``, write its handler module here, and add one
``registry.add(...)`` line below.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable

from tailor.domain import jobs as kinds
from tailor.jobs.registry import Registry
from tailor.services import generations
from tailor.services.requests import schedule_webhook
from tailor.worker.handlers.bulk_upload import bulk_upload, bulk_upload_ended
from tailor.worker.handlers.caption_image import caption_failed, caption_image
from tailor.worker.handlers.edit_image import edit_image
from tailor.worker.handlers.export_dataset import export_dataset
from tailor.worker.handlers.generate_image import generate_image
from tailor.worker.handlers.generate_video import generate_video
from tailor.worker.handlers.structured_prompt import structured_prompt, tailored_structured_prompt
from tailor.worker.handlers.structured_prompt_diff import structured_prompt_diff
from tailor.worker.handlers.train_model import train_model, training_ended
from tailor.worker.handlers.upload_model import upload_ended, upload_model
from tailor.worker.handlers.webhook import deliver_webhook, webhook_failed


def build_registry(extra_modules: Iterable[str] = ()) -> Registry:
    """Every kind Tailor runs, plus those of ``extra_modules`` (``TAILOR_EXTRA_HANDLER_MODULES``:
    modules with a ``register(registry)`` function, for deployments that add their own kinds)."""
    registry = Registry()
    registry.add(kinds.GENERATE_IMAGE, generate_image)
    registry.add(kinds.GENERATE_VIDEO, generate_video)
    registry.add(kinds.EDIT_IMAGE, edit_image)
    registry.add(kinds.STRUCTURED_PROMPT, structured_prompt)
    registry.add(kinds.TAILORED_STRUCTURED_PROMPT, tailored_structured_prompt)
    registry.add(kinds.CAPTION_IMAGE, caption_image, on_failure=caption_failed)
    registry.add(kinds.BULK_UPLOAD, bulk_upload, on_failure=bulk_upload_ended)
    registry.add(kinds.TRAIN_MODEL, train_model, on_failure=training_ended)
    registry.add(kinds.DELIVER_WEBHOOK, deliver_webhook, on_failure=webhook_failed)
    registry.add(kinds.UPLOAD_MODEL, upload_model, on_failure=upload_ended)
    registry.add(kinds.EXPORT_DATASET, export_dataset)
    registry.add(kinds.STRUCTURED_PROMPT_DIFF, structured_prompt_diff)
    registry.on_terminal(schedule_webhook)
    registry.on_terminal(generations.record)
    for name in extra_modules:
        importlib.import_module(name).register(registry)
    return registry
