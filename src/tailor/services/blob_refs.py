"""Image blobs may be shared between a dataset and its clones: delete a key only when unused."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from tailor.services.context import Stores
from tailor.store import images as image_store
from tailor.store.db import session_scope

log = logging.getLogger(__name__)


def delete_unreferenced(rt: Stores, keys: Iterable[str]) -> int:
    """After the rows are gone (committed), remove the blobs no other image row still uses.

    Rows that share a key are only ever created by cloning, under the source dataset's lock, and a
    row is only deleted under its own dataset's lock, so a key with no row left cannot gain one.
    """
    keys = list(dict.fromkeys(keys))
    if not keys:
        return 0
    with session_scope(rt.sessions) as s:
        still_used = image_store.referenced_keys(s, keys)
    n = 0
    for key in keys:
        if key in still_used:
            continue
        try:
            rt.blobs.delete(key)
            n += 1
        except Exception:  # a blob left behind is garbage, not an error for the caller
            log.warning("could not delete blob %s", key, exc_info=True)
    return n


def delete_quietly(rt: Stores, keys: Iterable[str]) -> None:
    """Undo blob writes whose records were never committed."""
    for key in keys:
        try:
            rt.blobs.delete(key)
        except Exception:
            log.warning("could not delete blob %s", key, exc_info=True)


def delete_model_files(rt: Stores, model_prefixes: Iterable[str]) -> None:
    """After deleted models' rows are committed, remove their adapters, checkpoints and samples."""
    for prefix in model_prefixes:
        try:
            rt.blobs.delete_prefix(prefix)
        except Exception:
            log.warning("could not delete the model files under %s", prefix, exc_info=True)
