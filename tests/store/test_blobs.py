"""One contract, two blob stores: the same tests run against DiskBlobStore and S3BlobStore (moto)."""

from __future__ import annotations

import io
import os
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tailor.store.blob_base import BlobNotFound, BlobStore
from tailor.store.blob_disk import DiskBlobStore
from tailor.store.blob_s3 import S3BlobStore
from tailor.store.blobs import open_blob_store


@pytest.fixture(params=["disk", "s3"])
def blobs(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BlobStore]:
    if request.param == "disk":
        yield DiskBlobStore(tmp_path / "blobs")
        return
    endpoint = request.getfixturevalue("s3_server")
    store = S3BlobStore("tailor-blobs", f"run-{uuid.uuid4().hex[:8]}", endpoint_url=endpoint)
    store.ensure_bucket()
    yield store
    store.delete_prefix("")


def test_put_get_exists_size(blobs: BlobStore) -> None:
    assert not blobs.exists("a/b.bin")
    blobs.put("a/b.bin", b"hello", content_type="application/octet-stream")
    assert blobs.exists("a/b.bin")
    assert blobs.get("a/b.bin") == b"hello"
    assert blobs.size("a/b.bin") == 5
    blobs.put("a/b.bin", b"replaced")
    assert blobs.get("a/b.bin") == b"replaced"


def test_empty_blob(blobs: BlobStore) -> None:
    blobs.put("empty", b"")
    assert blobs.exists("empty") and blobs.size("empty") == 0 and blobs.get("empty") == b""


def test_put_file_and_open(blobs: BlobStore) -> None:
    data = os.urandom(3 * 1024 * 1024 + 7)
    blobs.put_file("big/x.bin", io.BytesIO(data), content_type="application/zip")
    assert blobs.size("big/x.bin") == len(data)
    with blobs.open("big/x.bin") as f:
        assert f.read() == data
    assert b"".join(blobs.iter_chunks("big/x.bin", 1024 * 1024)) == data


def test_missing(blobs: BlobStore) -> None:
    with pytest.raises(BlobNotFound):
        blobs.get("nope")
    with pytest.raises(BlobNotFound):
        blobs.open("nope")
    with pytest.raises(BlobNotFound):
        blobs.size("nope")
    assert not blobs.exists("nope")
    blobs.delete("nope")  # deleting a missing blob is not an error


def test_delete(blobs: BlobStore) -> None:
    blobs.put("d/1", b"1")
    blobs.delete("d/1")
    assert not blobs.exists("d/1")
    assert list(blobs.list("d/")) == []


def test_list_and_prefix(blobs: BlobStore) -> None:
    for key in ("img/2.png", "img/1.png", "img/sub/3.png", "imgs/4.png", "other/5.png"):
        blobs.put(key, key.encode())
    assert list(blobs.list()) == sorted(
        ["img/1.png", "img/2.png", "img/sub/3.png", "imgs/4.png", "other/5.png"]
    )
    assert list(blobs.list("img/")) == ["img/1.png", "img/2.png", "img/sub/3.png"]
    assert list(blobs.list("img")) == ["img/1.png", "img/2.png", "img/sub/3.png", "imgs/4.png"]
    assert list(blobs.list("missing/")) == []
    assert blobs.delete_prefix("img/") == 3
    assert list(blobs.list()) == ["imgs/4.png", "other/5.png"]


@pytest.mark.parametrize(
    "key", ["", "/abs", "../up", "a/../b", "a//b", "./a", "a/./b", "a\\b", "with space", "é", "a/", ".hidden"]
)
def test_invalid_keys(blobs: BlobStore, key: str) -> None:
    for op in (
        lambda: blobs.put(key, b"x"),
        lambda: blobs.get(key),
        lambda: blobs.exists(key),
        lambda: blobs.delete(key),
    ):
        with pytest.raises(ValueError):
            op()


def test_writes_are_atomic(blobs: BlobStore) -> None:
    """A reader sees the old blob or the new one, whole; no temporary file is ever listed."""
    old, new = b"o" * 2_000_000, b"n" * 2_000_000
    blobs.put("atom/x", old)
    seen: set[bytes] = set()
    listed: set[str] = set()
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            try:
                data = blobs.get("atom/x")
            except BlobNotFound:
                data = b"<missing>"
            seen.add(data[:1] + str(len(data)).encode())
            listed.update(blobs.list("atom/"))

    t = threading.Thread(target=reader)
    t.start()
    try:
        for i in range(6):
            blobs.put("atom/x", new if i % 2 == 0 else old)
    finally:
        stop.set()
        t.join()
    assert seen <= {b"o2000000", b"n2000000"}
    assert listed == {"atom/x"}


def test_failed_put_file_leaves_nothing(blobs: BlobStore) -> None:
    class Broken(io.RawIOBase):
        def __init__(self) -> None:
            self.n = 0

        def readable(self) -> bool:
            return True

        def readinto(self, b) -> int:  # type: ignore[no-untyped-def, override]
            self.n += 1
            if self.n > 3:
                raise OSError("the upload stream broke")
            b[: len(b)] = b"z" * len(b)
            return len(b)

    with pytest.raises(Exception):  # noqa: B017  (disk: OSError; S3: the client's wrapped error)
        blobs.put_file("broken/x", Broken())  # type: ignore[arg-type]
    assert not blobs.exists("broken/x")
    assert list(blobs.list("broken/")) == []
    if isinstance(blobs, DiskBlobStore):
        assert [p.name for p in (blobs.root / "broken").iterdir()] == []


def test_list_info_gives_sizes_and_modified_times(blobs: BlobStore) -> None:
    start = datetime.now(UTC) - timedelta(seconds=2)  # S3 keeps whole seconds
    blobs.put("info/b.bin", b"12345")
    blobs.put("info/a.bin", b"1")
    blobs.put("infox/c.bin", b"22")
    infos = list(blobs.list_info("info/"))
    assert [(i.key, i.size) for i in infos] == [("info/a.bin", 1), ("info/b.bin", 5)]
    assert all(start <= i.modified <= datetime.now(UTC) + timedelta(seconds=2) for i in infos)
    assert [i.key for i in blobs.list_info()] == list(blobs.list())


def test_disk_store_prunes_old_empty_folders_and_writes_into_them_again(tmp_path: Path) -> None:
    store = DiskBlobStore(tmp_path / "blobs")
    store.put("a/b/c/x.bin", b"1")
    store.delete("a/b/c/x.bin")
    store.put("a/keep.bin", b"2")
    assert store.remove_partial_writes(datetime.now(UTC) - timedelta(hours=1)).count == 0
    assert (store.root / "a" / "b" / "c").is_dir()  # untouched: not old enough
    store.remove_partial_writes(datetime.now(UTC) + timedelta(hours=1))
    assert not (store.root / "a" / "b").exists() and store.get("a/keep.bin") == b"2"
    store.put("a/b/c/y.bin", b"3")  # a removed folder is made again
    assert store.get("a/b/c/y.bin") == b"3"


def test_open_blob_store_urls(tmp_path: Path, s3_server: str) -> None:
    disk = open_blob_store(f"file://{tmp_path / 'b'}")
    assert isinstance(disk, DiskBlobStore) and disk.root == (tmp_path / "b").resolve()
    s3 = open_blob_store("s3://bucket-x/some/prefix", endpoint_url=s3_server)
    assert isinstance(s3, S3BlobStore) and s3.bucket == "bucket-x" and s3.prefix == "some/prefix"
    with pytest.raises(ValueError):
        open_blob_store("ftp://x/y")


def test_s3_prefix_isolation(s3_server: str) -> None:
    a = S3BlobStore("tailor-iso", "tenant-a", endpoint_url=s3_server)
    b = S3BlobStore("tailor-iso", "tenant-b", endpoint_url=s3_server)
    a.ensure_bucket()
    a.put("k", b"a")
    b.put("k", b"b")
    assert a.get("k") == b"a" and b.get("k") == b"b"
    assert list(a.list()) == ["k"]
    a.delete_prefix("")
    assert b.exists("k")
    b.delete_prefix("")
