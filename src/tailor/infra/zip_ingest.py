"""Reading an untrusted zip archive one member at a time, with bomb and path-traversal guards.

Guards, all enforced on the bytes actually decompressed (header sizes are only a first filter):
- the total unpacked size is capped (``max_total_bytes``): past it the whole archive is refused;
- each member is capped in size (``max_member_bytes``) and in compression ratio (``max_ratio``);
- members with absolute paths, ``..`` parts or drive letters, symbolic links, encrypted members and
  nested archives are skipped with a reason; directories, ``__MACOSX/`` and dot-files are ignored;
- the number of entries is read from the end-of-central-directory record before the directory is
  parsed, so a directory of millions of entries is refused without being loaded.

Only one member's bytes are held in memory at a time.
"""

from __future__ import annotations

import stat
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from tailor.domain.errors import InvalidInput, TooLarge, UnsupportedMedia

_CHUNK = 1024 * 1024
_ARCHIVE_EXTS = (".zip", ".jar", ".7z", ".rar", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".zst")
_ARCHIVE_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"7z\xbc\xaf", b"Rar!", b"\x1f\x8b", b"BZh", b"\xfd7zXZ")


@dataclass(frozen=True)
class ZipLimits:
    max_total_bytes: int
    max_member_bytes: int
    max_ratio: float
    max_entries: int


@dataclass(frozen=True)
class Member:
    """An accepted member: its path in the archive and its bytes."""

    name: str
    data: bytes


@dataclass(frozen=True)
class Skipped:
    """A member that was refused, with the status code and reason to report."""

    name: str
    code: int
    message: str


def _entry_count(f: BinaryIO) -> int | None:
    """Entries declared in the end-of-central-directory record (zip64 aware), or None."""
    f.seek(0, 2)
    size = f.tell()
    tail_len = min(size, 65536 + 22)
    f.seek(size - tail_len)
    tail = f.read(tail_len)
    pos = tail.rfind(b"PK\x05\x06")
    if pos < 0 or pos + 22 > len(tail):
        return None
    (total,) = struct.unpack("<H", tail[pos + 10 : pos + 12])
    if total != 0xFFFF:
        return int(total)
    loc = tail.rfind(b"PK\x06\x07", 0, pos)  # zip64 locator -> zip64 end record
    if loc < 0:
        return None
    (offset,) = struct.unpack("<Q", tail[loc + 8 : loc + 16])
    f.seek(offset)
    rec = f.read(56)
    if rec[:4] != b"PK\x06\x06":
        return None
    (total64,) = struct.unpack("<Q", rec[32:40])
    return int(total64)


def open_archive(f: BinaryIO, limits: ZipLimits) -> zipfile.ZipFile:
    """Open ``f`` as a zip after checking its entry count; 415 when it is not a zip."""
    f.seek(0)
    if not zipfile.is_zipfile(f):
        raise UnsupportedMedia("not a zip archive", field="file")
    count = _entry_count(f)
    if count is not None and count > limits.max_entries:
        raise TooLarge(f"the archive has {count} entries; at most {limits.max_entries} are accepted")
    f.seek(0)
    try:
        zf = zipfile.ZipFile(f)
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise InvalidInput(f"the zip archive is corrupt: {e}", field="file") from e
    if len(zf.infolist()) > limits.max_entries:
        raise TooLarge(f"the archive has more than {limits.max_entries} entries")
    return zf


def _ignored(name: str) -> bool:
    parts = [p for p in name.replace("\\", "/").split("/") if p]
    return not parts or "__MACOSX" in parts or parts[-1].startswith(".")


def _unsafe_path(name: str) -> str | None:
    norm = name.replace("\\", "/")
    if norm.startswith("/") or (len(norm) > 1 and norm[1] == ":"):
        return "absolute paths are not accepted in archives"
    if any(p == ".." for p in norm.split("/")):
        return "paths with '..' are not accepted in archives"
    if "\x00" in name:
        return "paths with NUL characters are not accepted in archives"
    return None


def candidates(zf: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    """Members that will be reported on (everything but directories and ignored files)."""
    return [i for i in zf.infolist() if not i.is_dir() and not _ignored(i.filename)]


def check_declared_total(zf: zipfile.ZipFile, limits: ZipLimits) -> None:
    declared = sum(i.file_size for i in zf.infolist())
    if declared > limits.max_total_bytes:
        raise TooLarge(f"the archive would unpack to {declared} bytes; the limit is {limits.max_total_bytes}")


def iter_members(zf: zipfile.ZipFile, limits: ZipLimits) -> Iterator[Member | Skipped]:
    """Yield each candidate member's bytes, or why it was skipped; TooLarge past the total cap."""
    total = 0
    for info in candidates(zf):
        name = info.filename
        reason = _unsafe_path(name)
        if reason:
            yield Skipped(name, 400, reason)
            continue
        if stat.S_ISLNK(info.external_attr >> 16):
            yield Skipped(name, 400, "symbolic links are not accepted in archives")
            continue
        if info.flag_bits & 0x1:
            yield Skipped(name, 400, "encrypted archive members are not supported")
            continue
        if name.lower().endswith(_ARCHIVE_EXTS):
            yield Skipped(name, 415, "nested archives are not supported")
            continue
        if info.file_size > limits.max_member_bytes:
            yield Skipped(name, 413, f"larger than {limits.max_member_bytes} bytes")
            continue
        member_cap = min(limits.max_member_bytes, int(max(info.compress_size, 1) * limits.max_ratio))
        buf = bytearray()
        skipped: Skipped | None = None
        try:
            with zf.open(info) as src:
                while chunk := src.read(_CHUNK):
                    buf.extend(chunk)
                    total += len(chunk)
                    if total > limits.max_total_bytes:
                        raise TooLarge(f"the archive unpacks to more than {limits.max_total_bytes} bytes")
                    if len(buf) > member_cap:
                        skipped = (
                            Skipped(name, 413, f"larger than {limits.max_member_bytes} bytes")
                            if len(buf) > limits.max_member_bytes
                            else Skipped(
                                name,
                                413,
                                f"compression ratio over {limits.max_ratio:g}:1 (possible zip bomb)",
                            )
                        )
                        break
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as e:
            skipped = Skipped(name, 400, f"corrupt archive member: {e}")
        except NotImplementedError as e:
            skipped = Skipped(name, 415, f"unsupported compression: {e}")
        if skipped is not None:
            yield skipped
            continue
        if any(buf.startswith(m) for m in _ARCHIVE_MAGIC):
            yield Skipped(name, 415, "nested archives are not supported")
            continue
        yield Member(name, bytes(buf))
