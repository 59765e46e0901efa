"""Reading untrusted zips: member guards, streaming caps, entry counts."""

from __future__ import annotations

import io
import zipfile

import pytest

from tailor.domain.errors import TooLarge, UnsupportedMedia
from tailor.infra.zip_ingest import Member, Skipped, ZipLimits, iter_members, open_archive
from tests.services.factory import zip_bytes

LIMITS = ZipLimits(max_total_bytes=10_000_000, max_member_bytes=1_000_000, max_ratio=50.0, max_entries=100)


def _read(data: bytes, limits: ZipLimits = LIMITS) -> list[Member | Skipped]:
    with open_archive(io.BytesIO(data), limits) as zf:
        return list(iter_members(zf, limits))


def test_members_and_skips() -> None:
    out = _read(
        zip_bytes(
            {
                "a/b.jpg": b"img",
                "../x.jpg": b"x",
                "a/../../y.jpg": b"y",
                "/etc/z": b"z",
                "d:\\w.jpg": b"w",
                "n.zip": b"PK\x03\x04",
                "__MACOSX/a": b"",
                "a/.hidden": b"",
                "dir/": b"",
            },
            symlinks={"l.jpg": "../../etc/passwd"},
        )
    )
    kinds = {o.name: (type(o).__name__, getattr(o, "code", None)) for o in out}
    assert kinds == {
        "a/b.jpg": ("Member", None),
        "../x.jpg": ("Skipped", 400),
        "a/../../y.jpg": ("Skipped", 400),
        "/etc/z": ("Skipped", 400),
        "d:\\w.jpg": ("Skipped", 400),
        "n.zip": ("Skipped", 415),
        "l.jpg": ("Skipped", 400),
    }


def test_ratio_and_member_caps() -> None:
    out = _read(zip_bytes({"zeros.png": b"\x00" * 500_000, "big.bin": bytes(range(256)) * 8000}))
    by_name = {o.name: o for o in out}
    assert isinstance(by_name["zeros.png"], Skipped) and "ratio" in by_name["zeros.png"].message
    assert isinstance(by_name["big.bin"], Skipped) and by_name["big.bin"].code == 413


def test_total_cap_while_streaming() -> None:
    import os

    data = zip_bytes({f"{i}.bin": os.urandom(400_000) for i in range(5)})
    limits = ZipLimits(max_total_bytes=1_000_000, max_member_bytes=1_000_000, max_ratio=50.0, max_entries=100)
    with pytest.raises(TooLarge):
        _read(data, limits)


def test_not_a_zip_and_entry_count() -> None:
    with pytest.raises(UnsupportedMedia):
        _read(b"plain text")
    with pytest.raises(TooLarge):
        _read(zip_bytes({f"{i}": b"" for i in range(101)}))


def test_stored_members_read_whole() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("s.jpg", b"abc" * 1000)
    [m] = _read(buf.getvalue())
    assert isinstance(m, Member) and m.data == b"abc" * 1000
