"""The blob store interface: bytes by key. Implementations: ``blob_disk`` and ``blob_s3``."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-/]*$")


class BlobNotFound(KeyError):
    """No blob under that key."""


@dataclass(frozen=True)
class BlobInfo:
    """A listed blob: its key, size and when it was last written (UTC; for an S3 multipart upload,
    when the upload began)."""

    key: str
    size: int
    modified: datetime


@dataclass(frozen=True)
class PartialWrites:
    """What :meth:`BlobStore.remove_partial_writes` removed."""

    count: int = 0
    bytes: int = 0


def check_key(key: str) -> str:
    """Keys are relative, '/'-separated, with no '..' parts; anything else is a programming error."""
    if not _KEY.match(key) or any(part in ("", ".", "..") for part in key.split("/")):
        raise ValueError(f"invalid blob key: {key!r}")
    return key


class BlobStore(ABC):
    """Stores bytes under keys. Writes are atomic: a reader sees the whole blob or none."""

    @abstractmethod
    def put(self, key: str, data: bytes, content_type: str | None = None) -> None: ...

    @abstractmethod
    def put_file(self, key: str, fileobj: BinaryIO, content_type: str | None = None) -> None:
        """Store a stream without holding it in memory."""

    @abstractmethod
    def get(self, key: str) -> bytes: ...

    @abstractmethod
    def open(self, key: str) -> BinaryIO:
        """A readable binary stream of the blob; the caller closes it."""

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def size(self, key: str) -> int: ...

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove a blob; removing a missing blob is not an error."""

    @abstractmethod
    def list(self, prefix: str = "") -> Iterator[str]:
        """Keys under a prefix, in lexical order."""

    @abstractmethod
    def list_info(self, prefix: str = "") -> Iterator[BlobInfo]:
        """Blobs under a prefix with their size and modified time, in lexical order of keys."""

    def remove_partial_writes(self, older_than: datetime, *, dry_run: bool = False) -> PartialWrites:
        """Remove what writers that died mid-write left behind (temporary files, unfinished
        uploads) and last touched before ``older_than``; a store that leaves nothing has nothing."""
        return PartialWrites()

    def delete_prefix(self, prefix: str) -> int:
        n = 0
        for key in list(self.list(prefix)):
            self.delete(key)
            n += 1
        return n

    def iter_chunks(self, key: str, chunk_size: int = 1024 * 1024) -> Iterator[bytes]:
        with self.open(key) as f:
            while chunk := f.read(chunk_size):
                yield chunk
