"""Database engine and sessions. SQLite runs in WAL mode; PostgreSQL is used as is."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def _normalise_url(url: str) -> str:
    # A bare postgresql:// URL would pick psycopg2; we ship psycopg 3.
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; for SQLite, enable WAL, foreign keys and a generous busy timeout."""
    url = _normalise_url(url)
    if is_sqlite(url):
        if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
            from pathlib import Path

            from tailor.store.private_files import private_sqlite_file

            # created 0600 before SQLite opens it, so its -wal and -shm files are private too
            path = url.removeprefix("sqlite:///").split("?", 1)[0]
            if not path.startswith("file:"):
                private_sqlite_file(Path(path))
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30, "isolation_level": None},
            **kwargs,
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        # pysqlite's own transaction handling is off (isolation_level=None); we emit BEGIN ourselves
        # so that SQLAlchemy's transactions are real SQLite transactions. Transactions take the write
        # lock up front (BEGIN IMMEDIATE) unless marked read-only: in WAL mode a deferred transaction
        # that reads and then writes fails at once with "database is locked" when another connection
        # committed in between, and the busy timeout cannot help it. Read-only work (GET requests)
        # marks its connection with ``read_only_connection`` and runs deferred, so readers never wait.
        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            mode = conn.info.pop("sqlite_begin", "BEGIN IMMEDIATE")
            conn.exec_driver_sql(mode)

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, **kwargs)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def read_only_connection(engine: Engine) -> Connection:
    """A connection whose next transaction is deferred on SQLite (for work that only reads)."""
    conn = engine.connect()
    if is_sqlite(str(engine.url)):
        conn.info["sqlite_begin"] = "BEGIN"
    return conn


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    """A session for reads only: deferred on SQLite, so it never waits for (or blocks) writers."""
    with read_only_connection(engine) as conn, Session(bind=conn, expire_on_commit=False) as session:
        yield session


@contextmanager
def immediate_transaction(engine: Engine) -> Iterator[Session]:
    """A write transaction that holds the write lock from BEGIN on SQLite (BEGIN IMMEDIATE).

    On PostgreSQL it is an ordinary transaction; row locks come from ``FOR UPDATE SKIP LOCKED``.
    """
    with engine.connect() as conn:
        if is_sqlite(str(engine.url)):
            conn.info["sqlite_begin"] = "BEGIN IMMEDIATE"
        with conn.begin():
            with Session(bind=conn, expire_on_commit=False) as session:
                yield session
                session.flush()
