"""The data directory, the database (with its -wal and -shm files) and the key files are private from
their first byte, whatever the umask; homes left with wider modes are tightened on start."""

from __future__ import annotations

import logging
import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tailor.bootstrap import build_runtime, ensure_default_token
from tailor.config import Settings
from tailor.store.db import make_engine


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The umask of a careless shell: files 0644, folders 0755 unless Tailor says otherwise."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def _write_through_sqlite(settings: Settings) -> None:
    """Write once through a connection that stays open, so the -wal and -shm files exist."""
    engine = make_engine(settings.resolved_database_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE organizations SET name = name")
    engine.dispose()


def test_a_new_home_is_private_from_the_start(tmp_path: Path, open_umask: None) -> None:
    settings = Settings(home=tmp_path / "home")  # no TAILOR_SECRET_KEY: the secret file is generated
    rt = build_runtime(settings, migrate=True)
    try:
        assert ensure_default_token(rt)
        engine = make_engine(settings.resolved_database_url)
        with engine.begin() as conn:  # the -wal and -shm files exist while a connection is open
            conn.exec_driver_sql("UPDATE organizations SET name = name")
            home = settings.home
            files = ["tailor.db", "tailor.db-wal", "tailor.db-shm", "token", "secret"]
            assert all((home / f).exists() for f in files)
            assert oct(mode(home)) == oct(0o700)
            assert {f: oct(mode(home / f)) for f in files} == {f: oct(0o600) for f in files}
        engine.dispose()
    finally:
        rt.close()


def test_an_existing_wide_home_is_tightened_on_start_and_the_log_says_so(
    tmp_path: Path, open_umask: None, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(home=tmp_path / "home")
    build_runtime(settings, migrate=True).close()
    _write_through_sqlite(settings)
    home = settings.home
    (home / "token").write_text("tlr_x\n")
    files = ["tailor.db", "tailor.db-wal", "tailor.db-shm", "token", "secret"]
    home.chmod(0o755)
    for f in files:
        if (home / f).exists():
            (home / f).chmod(0o644)
    caplog.set_level(logging.WARNING, logger="tailor")
    build_runtime(settings, migrate=True).close()
    assert oct(mode(home)) == oct(0o700)
    for f in files:
        if (home / f).exists():
            assert oct(mode(home / f)) == oct(0o600), f
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert f"restricted {home} from mode 755 to 700" in logged
    assert f"restricted {home / 'tailor.db'} from mode 644 to 600" in logged
    assert f"restricted {home / 'secret'} from mode 644 to 600" in logged


def test_key_files_are_never_written_through_a_planted_path(tmp_path: Path) -> None:
    """The old way (write ``<name>.tmp``, chmod, rename) followed a link planted at ``<name>.tmp``."""
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    outside = tmp_path / "outside"
    outside.mkdir()
    for name in ("secret", "token"):
        (home / f"{name}.tmp").symlink_to(outside / name)
    settings = Settings(home=home)
    rt = build_runtime(settings, migrate=True)
    try:
        token = ensure_default_token(rt)
        assert token and settings.token_file.read_text().strip() == token
        assert len(settings.resolved_secret_key()) >= 32
    finally:
        rt.close()
    assert list(outside.iterdir()) == []


def test_concurrent_starts_agree_on_one_generated_secret(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    barrier = threading.Barrier(8)
    seen: list[str] = []

    def start() -> None:
        barrier.wait()
        seen.append(settings.resolved_secret_key())

    threads = [threading.Thread(target=start) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(seen)) == 1 and seen[0] == (settings.home / "secret").read_text()
    assert [p.name for p in settings.home.iterdir()] == ["secret"]  # no temporary file left behind
