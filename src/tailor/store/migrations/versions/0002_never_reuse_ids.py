"""never reuse ids; per-model random blob prefix; adapter content hashes

On SQLite every integer-keyed table is rebuilt with AUTOINCREMENT, so a deleted row's id is never
handed out again (PostgreSQL sequences already behave so). Models get ``blob_prefix`` (existing
models keep the prefix their files already live under) and adapters their SHA-256.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# parents before children, so each rebuilt table's foreign keys point at a table that exists
INTEGER_KEYED = [
    "organizations",
    "api_tokens",
    "projects",
    "datasets",
    "images",
    "bulk_uploads",
    "models",
    "checkpoints",
    "jobs",
    "requests",
]


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table("models") as batch:
        batch.add_column(sa.Column("blob_prefix", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("adapter_sha256", sa.String(length=64), nullable=True))
    with op.batch_alter_table("checkpoints") as batch:
        batch.add_column(sa.Column("adapter_sha256", sa.String(length=64), nullable=True))
    # models made before this revision keep their files where they are
    op.execute("UPDATE models SET blob_prefix = 'models/' || CAST(id AS VARCHAR) || '/'")
    with op.batch_alter_table("models") as batch:
        batch.alter_column("blob_prefix", existing_type=sa.String(length=200), nullable=False)
    if sqlite:
        # the migration environment turns foreign keys off for SQLite, so dropping a rebuilt
        # parent table cascades nothing
        for table in INTEGER_KEYED:
            with op.batch_alter_table(
                table, recreate="always", table_kwargs={"sqlite_autoincrement": True}
            ) as batch:
                pass


def downgrade() -> None:
    with op.batch_alter_table("checkpoints") as batch:
        batch.drop_column("adapter_sha256")
    with op.batch_alter_table("models") as batch:
        batch.drop_column("adapter_sha256")
        batch.drop_column("blob_prefix")
