"""A writer that dies mid-write: streams 9 MiB into ``put_file`` and then waits for more forever.

``python -m tests.services.partial_writer BLOB_URL S3_ENDPOINT KEY`` (S3_ENDPOINT may be ``-``).
The test kills it with SIGKILL, as a worker killed during an upload would be.
"""

from __future__ import annotations

import io
import sys
import time

from tailor.store.blobs import open_blob_store

FIRST = 9 * 1024 * 1024


class Stalling(io.RawIOBase):
    """The first ``FIRST`` bytes, then a read that never returns (a client that stopped sending)."""

    def __init__(self) -> None:
        self.sent = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray) -> int:  # type: ignore[override]
        if self.sent >= FIRST:
            time.sleep(3600)
        n = min(len(b), FIRST - self.sent)
        b[:n] = b"p" * n
        self.sent += n
        return n


def main() -> None:
    blob_url, endpoint, key = sys.argv[1:4]
    store = open_blob_store(blob_url, endpoint_url=None if endpoint == "-" else endpoint)
    store.put_file(key, io.BufferedReader(Stalling()))


if __name__ == "__main__":
    main()
