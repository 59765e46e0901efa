"""The sweeper: removes blobs that no record references, and writes that never finished.

Every writer stores a blob first and commits the record that names it second; a process killed in
between (a worker during a bulk upload, a training run between a checkpoint's files and its record)
leaves a blob that nothing will ever name. Records that are deleted remove their blobs after the
commit, and a process killed in between leaves those too. The sweeper finds both kinds:

- ``images/<org>/``: files and thumbnails that no image row uses;
- ``generated/<org>/`` and ``requests/<org>/``: outputs and inline inputs of requests that are gone
  (or of attempts whose result was never recorded), unless a generation history entry keeps them;
- ``uploads/<org>/``: archives of bulk uploads that are finished or gone;
- ``models/``: everything under the prefix of a model that no longer exists, and, under a model
  that does, the files of checkpoints and final adapters that no record names (runs that died or
  were fenced off before recording them);
- writes that never finished: temp files of the disk store, unfinished S3 multipart uploads.

Safety comes from the grace period: only blobs last written more than ``grace_s`` ago are
candidates, the records are read *after* the blobs are listed, and every writer commits its record
within the grace period of starting the blob (seconds in practice; the default is an hour). So a
blob that is old and unnamed when the records are read had its chance: a record committed right
after the listing names only a blob younger than the grace period, which is not a candidate. No
record ever starts naming an existing unnamed blob (clones copy keys from rows that name them).
The grace period must also exceed the clock skew between this host and an S3 server.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tailor.domain.models import CHECKPOINTS_DIR, FINAL_DIR
from tailor.services.context import Stores
from tailor.store import references as refs
from tailor.store.blob_base import BlobInfo
from tailor.store.db import read_session
from tailor.store.generations import image_keys as generation_keys

log = logging.getLogger(__name__)

PARTIAL = "partial writes"


class SweepStores(Stores, Protocol):
    @property
    def engine(self) -> Engine: ...


@dataclass
class Removed:
    count: int = 0
    bytes: int = 0

    def add(self, size: int) -> None:
        self.count += 1
        self.bytes += size


@dataclass
class SweepReport:
    """What a sweep removed (or, with ``dry_run``, would remove), by kind of blob."""

    grace_s: float
    dry_run: bool = False
    removed: dict[str, Removed] = field(default_factory=dict)
    errors: int = 0

    @property
    def count(self) -> int:
        return sum(r.count for r in self.removed.values())

    @property
    def bytes(self) -> int:
        return sum(r.bytes for r in self.removed.values())

    def lines(self) -> list[str]:
        verb = "would remove" if self.dry_run else "removed"
        out = [f"{kind:<16} {verb} {r.count} ({_human(r.bytes)})" for kind, r in self.removed.items()]
        out.append(f"{'total':<16} {verb} {self.count} ({_human(self.bytes)})")
        if self.errors:
            out.append(f"{self.errors} blob(s) could not be removed (see the log); the next sweep retries")
        return out


# kind -> the keys of one organization that records still name
_PER_ORGANIZATION: dict[str, Callable[[Session, int], set[str]]] = {
    "images/": refs.image_keys,
    "generated/": lambda s, org: refs.request_keys(s, org, "generated/") | generation_keys(s, org),
    "requests/": lambda s, org: refs.request_keys(s, org, "requests/"),
    "uploads/": refs.open_upload_keys,
}
MODELS = "models/"


def sweep(
    rt: SweepStores, *, grace_s: float, now: datetime | None = None, dry_run: bool = False
) -> SweepReport:
    """Remove (or only count, with ``dry_run``) every unnamed blob older than ``grace_s``."""
    cutoff = (now or datetime.now(UTC)) - timedelta(seconds=grace_s)
    report = SweepReport(grace_s=grace_s, dry_run=dry_run)
    for kind, named in _PER_ORGANIZATION.items():
        removed = report.removed.setdefault(kind.rstrip("/"), Removed())
        for org, infos in _by_organization(rt.blobs.list_info(kind)):
            old = [i for i in infos if i.modified < cutoff]
            if not old:
                continue
            with read_session(rt.engine) as s:  # after the listing: see the module's docstring
                live = named(s, org)
            _remove(rt, (i for i in old if i.key not in live), removed, report, dry_run)
    _sweep_models(rt, cutoff, report, dry_run)
    partial = rt.blobs.remove_partial_writes(cutoff, dry_run=dry_run)
    report.removed[PARTIAL] = Removed(partial.count, partial.bytes)
    if report.count:
        log.info("sweep: %s", "; ".join(report.lines()))
    return report


def _sweep_models(rt: SweepStores, cutoff: datetime, report: SweepReport, dry_run: bool) -> None:
    removed = report.removed.setdefault(MODELS.rstrip("/"), Removed())
    old = [i for _org, infos in _by_organization(rt.blobs.list_info(MODELS)) for i in infos]
    old = [i for i in old if i.modified < cutoff]
    if not old:
        return
    with read_session(rt.engine) as s:
        files = refs.model_files(s)

    def unnamed(info: BlobInfo) -> bool:
        prefix = files.owner(info.key)
        if prefix is None:
            return True  # the model is gone
        inside = info.key[len(prefix) :]
        if inside.startswith((CHECKPOINTS_DIR, FINAL_DIR)):
            return info.key not in files.named  # a run's file that no record took up
        return False  # exports and files of the earlier layout live as long as the model

    _remove(rt, (i for i in old if unnamed(i)), removed, report, dry_run)


def _by_organization(infos: Iterable[BlobInfo]) -> Iterator[tuple[int, list[BlobInfo]]]:
    """Group a (sorted) listing of ``<kind>/<org>/...`` keys by organization; keys of any other
    shape are not Tailor's records' and are left alone. (Models of the earlier layout live under
    ``models/<model id>/``: grouped as if the id were an organization, which ``models/`` ignores.)"""

    def org_of(info: BlobInfo) -> int | None:
        parts = info.key.split("/", 2)
        if len(parts) < 3 or not parts[1].isdigit():
            return None
        return int(parts[1])

    for org, group in itertools.groupby(infos, key=org_of):
        if org is not None:
            yield org, list(group)


def _remove(
    rt: Stores, infos: Iterable[BlobInfo], removed: Removed, report: SweepReport, dry_run: bool
) -> None:
    for info in infos:
        if not dry_run:
            try:
                rt.blobs.delete(info.key)
            except Exception:
                log.warning("sweep: could not remove %s", info.key, exc_info=True)
                report.errors += 1
                continue
        removed.add(info.size)


class PeriodicSweeper:
    """Runs :func:`sweep` every ``interval_s`` in a background thread (``tailor serve``)."""

    def __init__(self, rt: SweepStores, *, interval_s: float, grace_s: float) -> None:
        self.rt = rt
        self.interval_s = interval_s
        self.grace_s = grace_s
        self.sweeps = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="blob-sweeper", daemon=True)

    def start(self) -> PeriodicSweeper:
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                sweep(self.rt, grace_s=self.grace_s)
            except Exception:  # a database or store outage: try again next time
                log.warning("sweep failed", exc_info=True)
            self.sweeps += 1

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


def _human(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"
