"""Files and folders only this user may read: the data directory, the database, the token, the secret.

Everything is created private from the first byte (``os.open`` with mode 0600 and ``O_EXCL``, or
``mkstemp``, then an atomic rename), never written and then ``chmod``-ed. Whatever already exists with
wider modes (a home made by an older version) is tightened, and the log says so.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import tempfile
from pathlib import Path

log = logging.getLogger("tailor.files")

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
# Files SQLite keeps beside a database; they inherit the database file's mode when SQLite creates them.
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def tighten(path: Path, mode: int) -> bool:
    """Remove every permission beyond ``mode`` from ``path`` (when it exists); True when it changed."""
    try:
        current = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return False
    if current & ~mode == 0:
        return False
    try:
        path.chmod(current & mode)
    except OSError as e:
        log.warning("%s is readable by others (mode %o) and could not be restricted: %s", path, current, e)
        return False
    log.warning(
        "restricted %s from mode %o to %o (other users could reach it)", path, current, current & mode
    )
    return True


def private_dir(path: Path) -> Path:
    """Create ``path`` as a 0700 folder (parents as usual), or tighten it when it exists."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            path.mkdir(mode=PRIVATE_DIR)
    tighten(path, PRIVATE_DIR)
    return path


def write_private(path: Path, text: str) -> None:
    """Replace ``path`` atomically with ``text`` in a 0600 file (created so, never widened)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")  # 0600, O_EXCL
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def create_private_once(path: Path, text: str) -> str:
    """Write ``text`` to ``path`` unless it exists, atomically and privately; returns the file's text.

    When several processes race, exactly one file wins and every caller reads the winner's text.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)  # fails when the file exists: never overwrites
        except FileExistsError:
            pass
        except OSError:  # a filesystem without hard links: exclusive create, then write
            with contextlib.suppress(FileExistsError):
                with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE), "w") as f:
                    f.write(text)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path.read_text()


def private_sqlite_file(path: Path) -> None:
    """Make sure a SQLite database file exists as 0600 before SQLite opens it (an empty file is an
    empty database), so its ``-wal`` and ``-shm`` files are created 0600 too; tighten existing ones."""
    if not path.parent.exists():
        private_dir(path.parent)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))
    except FileExistsError:
        pass
    for p in (path, *(path.with_name(path.name + side) for side in SQLITE_SIDE_FILES)):
        tighten(p, PRIVATE_FILE)
