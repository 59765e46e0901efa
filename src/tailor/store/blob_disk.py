"""Filesystem blob store: one file per key under a root; writes go to a temp file, then rename."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from tailor.store.blob_base import BlobInfo, BlobNotFound, BlobStore, PartialWrites, check_key

TMP_PREFIX = ".tmp-"


class DiskBlobStore(BlobStore):
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def _atomic_write(self, key: str, write: object) -> None:
        path = self._path(key)
        for attempt in range(3):
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=TMP_PREFIX, suffix=".part")
                break
            except FileNotFoundError:  # the sweeper removed the folder, old and empty, just now
                if attempt == 2:
                    raise
        try:
            with os.fdopen(fd, "wb") as f:
                write(f)  # type: ignore[operator]
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def put(self, key: str, data: bytes, content_type: str | None = None) -> None:
        self._atomic_write(key, lambda f: f.write(data))

    def put_file(self, key: str, fileobj: BinaryIO, content_type: str | None = None) -> None:
        self._atomic_write(key, lambda f: shutil.copyfileobj(fileobj, f, 1024 * 1024))

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError as e:
            raise BlobNotFound(key) from e

    def open(self, key: str) -> BinaryIO:
        try:
            return open(self._path(key), "rb")
        except FileNotFoundError as e:
            raise BlobNotFound(key) from e

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def size(self, key: str) -> int:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError as e:
            raise BlobNotFound(key) from e

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def list(self, prefix: str = "") -> Iterator[str]:
        keys = []
        for dirpath, _dirs, files in os.walk(self.root):
            for name in files:
                if name.startswith(TMP_PREFIX):
                    continue
                rel = os.path.relpath(os.path.join(dirpath, name), self.root).replace(os.sep, "/")
                if rel.startswith(prefix):
                    keys.append(rel)
        yield from sorted(keys)

    def list_info(self, prefix: str = "") -> Iterator[BlobInfo]:
        for key in self.list(prefix):
            try:
                st = self._path(key).stat()
            except FileNotFoundError:  # deleted since it was listed
                continue
            yield BlobInfo(key, st.st_size, datetime.fromtimestamp(st.st_mtime, UTC))

    def remove_partial_writes(self, older_than: datetime, *, dry_run: bool = False) -> PartialWrites:
        """Remove temp files of writes that never finished (their writer died) and folders left
        empty, all untouched since ``older_than``; a live write keeps touching its temp file."""
        cutoff = older_than.timestamp()
        count = size = 0
        # folders untouched since the cutoff, noted before any removal below touches them
        old_folders = set()
        for dirpath, _dirs, _files in os.walk(self.root):
            try:
                if Path(dirpath).stat().st_mtime < cutoff:
                    old_folders.add(dirpath)
            except FileNotFoundError:
                continue
        for dirpath, _dirs, files in os.walk(self.root, topdown=False):
            for name in files:
                if not name.startswith(TMP_PREFIX):
                    continue
                path = Path(dirpath) / name
                try:
                    st = path.stat()
                    if st.st_mtime >= cutoff:
                        continue
                    if not dry_run:
                        path.unlink()
                except FileNotFoundError:  # the write finished (renamed) or failed meanwhile
                    continue
                count += 1
                size += st.st_size
            if dry_run or dirpath not in old_folders or Path(dirpath) == self.root:
                continue
            try:
                os.rmdir(dirpath)  # only when empty; a writer racing this retries its mkdir
            except OSError:
                pass
        return PartialWrites(count, size)

    def local_path(self, key: str) -> Path:
        """The file behind a key (the disk store can hand out paths, e.g. for streaming responses)."""
        return self._path(key)
