"""S3-compatible blob store on boto3 (AWS S3, MinIO, moto, ...). Objects are written whole by S3."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, BinaryIO

from tailor.store.blob_base import BlobInfo, BlobNotFound, BlobStore, PartialWrites, check_key


class S3BlobStore(BlobStore):
    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        client: Any = None,
    ) -> None:
        if client is None:
            import boto3
            from botocore.config import Config

            client = boto3.client(
                "s3",
                endpoint_url=endpoint_url,
                region_name=region,
                config=Config(retries={"max_attempts": 5, "mode": "standard"}),
            )
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")

    def _k(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _is_missing(self, err: Exception) -> bool:
        code = getattr(err, "response", {}).get("Error", {}).get("Code", "")
        return code in ("404", "NoSuchKey", "NotFound")

    def put(self, key: str, data: bytes, content_type: str | None = None) -> None:
        extra = {"ContentType": content_type} if content_type else {}
        self.client.put_object(Bucket=self.bucket, Key=self._k(key), Body=data, **extra)

    def put_file(self, key: str, fileobj: BinaryIO, content_type: str | None = None) -> None:
        extra = {"ExtraArgs": {"ContentType": content_type}} if content_type else {}
        self.client.upload_fileobj(fileobj, self.bucket, self._k(key), **extra)

    def get(self, key: str) -> bytes:
        with self.open(key) as f:
            return f.read()

    def open(self, key: str) -> BinaryIO:
        from botocore.exceptions import ClientError

        try:
            obj = self.client.get_object(Bucket=self.bucket, Key=self._k(key))
        except ClientError as e:
            if self._is_missing(e):
                raise BlobNotFound(key) from e
            raise
        return obj["Body"]  # type: ignore[no-any-return]

    def exists(self, key: str) -> bool:
        try:
            self.size(key)
        except BlobNotFound:
            return False
        return True

    def size(self, key: str) -> int:
        from botocore.exceptions import ClientError

        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self._k(key))
        except ClientError as e:
            if self._is_missing(e):
                raise BlobNotFound(key) from e
            raise
        return int(head["ContentLength"])

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._k(key))

    def _full_prefix(self, prefix: str) -> str:
        if prefix:
            if prefix.rstrip("/"):
                check_key(prefix.rstrip("/"))
            return f"{self.prefix}/{prefix}" if self.prefix else prefix
        return self.prefix + "/" if self.prefix else ""

    def _objects(self, prefix: str) -> Iterator[dict[str, Any]]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self._full_prefix(prefix)):
            yield from page.get("Contents", [])

    def _strip(self, key: str) -> str:
        return key[len(self.prefix) + 1 :] if self.prefix else key

    def list(self, prefix: str = "") -> Iterator[str]:
        for obj in self._objects(prefix):
            yield self._strip(obj["Key"])

    def list_info(self, prefix: str = "") -> Iterator[BlobInfo]:
        for obj in self._objects(prefix):
            yield BlobInfo(self._strip(obj["Key"]), int(obj["Size"]), _utc(obj["LastModified"]))

    def remove_partial_writes(self, older_than: datetime, *, dry_run: bool = False) -> PartialWrites:
        """Abort multipart uploads never completed (their writer died) and untouched since
        ``older_than`` (neither begun nor sent a part since); S3 keeps, and bills, their parts until
        they are aborted."""
        count = size = 0
        paginator = self.client.get_paginator("list_multipart_uploads")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self._full_prefix("")):
            for upload in page.get("Uploads", []):
                key, upload_id = upload["Key"], upload["UploadId"]
                parts = self.client.list_parts(Bucket=self.bucket, Key=key, UploadId=upload_id)
                touched = [_utc(upload["Initiated"])]
                touched += [_utc(p["LastModified"]) for p in parts.get("Parts", [])]
                if max(touched) >= older_than:
                    continue
                if not dry_run:
                    self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
                count += 1
                size += sum(int(p["Size"]) for p in parts.get("Parts", []))
        return PartialWrites(count, size)

    def ensure_bucket(self) -> None:
        """Create the bucket when it does not exist (handy for local S3-compatible servers)."""
        from botocore.exceptions import ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError:
            self.client.create_bucket(Bucket=self.bucket)


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
