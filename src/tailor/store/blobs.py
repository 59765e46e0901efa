"""Build a blob store from a URL: ``file:///path`` or ``s3://bucket/prefix``."""

from __future__ import annotations

from urllib.parse import urlparse

from tailor.store.blob_base import BlobStore


def open_blob_store(url: str, *, endpoint_url: str | None = None, region: str | None = None) -> BlobStore:
    parsed = urlparse(url)
    if parsed.scheme in ("", "file"):
        from tailor.store.blob_disk import DiskBlobStore

        return DiskBlobStore(parsed.path if parsed.scheme else url)
    if parsed.scheme == "s3":
        from tailor.store.blob_s3 import S3BlobStore

        return S3BlobStore(parsed.netloc, parsed.path, endpoint_url=endpoint_url, region=region)
    raise ValueError(f"TAILOR_BLOB_URL: unsupported scheme {parsed.scheme!r} (use file:// or s3://)")
