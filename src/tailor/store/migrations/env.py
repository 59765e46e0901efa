"""Alembic environment: online migrations against the URL given by ``tailor.store.migrate``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from tailor.store.db import make_engine
from tailor.store.tables import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url
    engine = make_engine(url)
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch migrations rebuild tables (copy, drop, rename). With foreign keys on, dropping a
            # parent table would cascade-delete its children's rows; the pragma only takes effect
            # outside a transaction, so it goes straight to the driver connection (autocommit).
            _driver_execute(connection, "PRAGMA foreign_keys=OFF")
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"migration left rows with dangling foreign keys: {broken[:5]}")
        if sqlite:
            _driver_execute(connection, "PRAGMA foreign_keys=ON")
    engine.dispose()


def _driver_execute(connection: Connection, sql: str) -> None:
    raw = connection.connection.driver_connection
    assert raw is not None
    raw.execute(sql)


run_migrations_online()
