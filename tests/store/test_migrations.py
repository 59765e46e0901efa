"""Migrations: they apply on SQLite and PostgreSQL, are idempotent, and match ``store/tables.py``."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from tailor.store.db import make_engine
from tailor.store.migrate import current_head, upgrade
from tailor.store.tables import Base


def test_upgrade_is_idempotent_and_matches_tables(db_url: str) -> None:
    upgrade(db_url)
    upgrade(db_url)  # a second start migrates nothing and does not fail
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            version = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
            assert version == current_head()
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == [], f"tables.py and the migrations disagree: {diff}"
        assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_sqlite_runs_in_wal_mode(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'w.db'}"
    upgrade(url)
    engine = make_engine(url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar().lower() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def test_upgrade_from_0001_keeps_rows_and_stops_id_reuse(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """0002 rebuilds SQLite tables with AUTOINCREMENT: no row (child rows included) is lost, old
    models keep the prefix their files live under, and a deleted id is not handed out again."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0001")
    engine = make_engine(url)
    now = "2026-01-01 00:00:00"
    stamps = f"'{now}', '{now}'"
    with engine.begin() as conn:
        conn.exec_driver_sql(f"INSERT INTO organizations VALUES (1, 'o', {stamps})")
        conn.exec_driver_sql(
            "INSERT INTO projects (id, organization_id, project_name, ip_medium, ip_type, status, "
            f"created_at, updated_at) VALUES (1, 1, 'p', 'photography', 'object', 'active', {stamps})"
        )
        conn.exec_driver_sql(
            "INSERT INTO datasets (id, organization_id, project_id, name, status, captions_update_status, "
            f"upload_type, created_at, updated_at) VALUES (1, 1, 1, 'd', 'draft', 'empty', 'basic', {stamps})"
        )
        for model_id in (1, 2):
            conn.exec_driver_sql(
                "INSERT INTO models (id, organization_id, project_id, dataset_id, name, status,"
                " training_mode, created_at, updated_at)"
                f" VALUES ({model_id}, 1, 1, 1, 'm', 'Completed', 'expert', {stamps})"
            )
        conn.exec_driver_sql(
            "INSERT INTO checkpoints (id, model_id, checkpoint_step, adapter_key, created_at, updated_at)"
            f" VALUES (1, 2, 100, 'models/2/checkpoints/000100/adapter.safetensors', {stamps})"
        )
    engine.dispose()
    upgrade(url)
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            prefixes = conn.exec_driver_sql("SELECT id, blob_prefix FROM models ORDER BY id").fetchall()
            assert [tuple(r) for r in prefixes] == [(1, "models/1/"), (2, "models/2/")]
            assert conn.exec_driver_sql("SELECT count(*) FROM checkpoints").scalar() == 1
            assert conn.exec_driver_sql("SELECT count(*) FROM datasets").scalar() == 1
            sql = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = 'models'").scalar()
            assert "AUTOINCREMENT" in sql
            conn.exec_driver_sql("DELETE FROM models WHERE id = 2")
            conn.exec_driver_sql(
                "INSERT INTO models (organization_id, project_id, dataset_id, name, status, training_mode,"
                " blob_prefix, created_at, updated_at)"
                f" VALUES (1, 1, 1, 'n', 'Created', 'expert', 'x/', {stamps})"
            )
            assert conn.exec_driver_sql("SELECT max(id) FROM models").scalar() == 3
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


def test_upgrade_to_0011_says_where_old_images_came_from(db_url: str) -> None:
    """Images from before 0011: url when a URL was recorded, zip in an advanced dataset, else
    upload; their size as uploaded comes from their readiness measures."""
    upgrade(db_url, "0010")
    engine = make_engine(db_url)
    stamps = "'2026-01-01 00:00:00', '2026-01-01 00:00:00'"
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(
                f"INSERT INTO organizations (id, name, created_at, updated_at) VALUES (1, 'o', {stamps})"
            )
            conn.exec_driver_sql(
                "INSERT INTO projects (id, organization_id, project_name, ip_medium, ip_type, status, "
                f"created_at, updated_at) VALUES (1, 1, 'p', 'photography', 'other', 'active', {stamps})"
            )
            for ds, kind in ((1, "basic"), (2, "advanced")):
                conn.exec_driver_sql(
                    "INSERT INTO datasets (id, organization_id, project_id, name, status, "
                    "captions_update_status, upload_type, created_at, updated_at) "
                    f"VALUES ({ds}, 1, 1, 'd', 'draft', 'empty', '{kind}', {stamps})"
                )
            for image, ds, url in ((1, 1, "NULL"), (2, 1, "'http://x/a.png'"), (3, 2, "NULL")):
                conn.exec_driver_sql(
                    "INSERT INTO images (id, organization_id, dataset_id, image_name, blob_key, "
                    "thumbnail_key, width, height, sha256, upload_source_url, created_at, updated_at) "
                    f"VALUES ({image}, 1, {ds}, 'i', 'k{image}', 't{image}', 1024, 1024, 'h', {url}, "
                    f"{stamps})"
                )
            conn.exec_driver_sql(
                "INSERT INTO image_measures (image_id, phash, sharpness, source_width, source_height) "
                "VALUES (1, '0', 1.0, 512, 300)"
            )
        upgrade(db_url)
        with engine.begin() as conn:
            rows = conn.exec_driver_sql(
                "SELECT id, upload_source, source_width, source_height, file_size, previous_caption "
                "FROM images ORDER BY id"
            ).fetchall()
        assert [tuple(r) for r in rows] == [
            (1, "upload", 512, 300, None, None),
            (2, "url", None, None, None, None),
            (3, "zip", None, None, None, None),
        ]
    finally:
        engine.dispose()
