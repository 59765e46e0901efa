"""Build a directory once, atomically, however many processes ask for it at the same time.

The tiny models (FIBO, FIBO 2, the video model, the scorers) are built in code and saved where
``from_pretrained`` loads them. Tests, workers and training children may all ask for the same one
at once: the first takes a file lock and builds into a temporary folder beside the target, which is
renamed into place only when complete; the others wait on the lock and find it built.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path


def build_once(target: Path, build: Callable[[Path], None], is_built: Callable[[Path], bool]) -> Path:
    """Return ``target`` after ``build(folder)`` has filled it, unless ``is_built(target)`` already.

    A leftover ``target`` that is not built (an interrupted older layout) is replaced."""
    target = Path(target)
    if is_built(target):
        return target
    parent = target.parent
    parent.mkdir(parents=True, exist_ok=True)
    with open(parent / f".{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if is_built(target):
                return target
            tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=parent))
            try:
                build(tmp)
                if target.exists():
                    shutil.rmtree(target)
                os.replace(tmp, target)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return target
