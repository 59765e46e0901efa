"""Metadata (SQLAlchemy 2 + Alembic) and blob (filesystem, S3) storage."""
