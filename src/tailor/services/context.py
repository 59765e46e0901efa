"""What use cases need from the process: settings, database sessions, blob store.

Both ``bootstrap.Runtime`` (API) and ``jobs.context.JobContext`` (workers) provide it.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from tailor.config import Settings
from tailor.store.blob_base import BlobStore


class Stores(Protocol):
    @property
    def settings(self) -> Settings: ...

    @property
    def sessions(self) -> sessionmaker[Session]: ...

    @property
    def blobs(self) -> BlobStore: ...
