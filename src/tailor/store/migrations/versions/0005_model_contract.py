"""model records as Bria returns them; uploaded LoRA models

Models get ``custom_metadata`` (free text a client attaches) and ``source_url`` (where an uploaded
LoRA came from); ``dataset_id`` becomes nullable, since an uploaded LoRA was trained on no dataset
of Tailor's. On SQLite the table is rebuilt keeping AUTOINCREMENT (ids are never reused).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("models", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.add_column(sa.Column("custom_metadata", sa.Text(), nullable=True))
        batch.add_column(sa.Column("source_url", sa.Text(), nullable=True))
        batch.alter_column("dataset_id", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM models WHERE dataset_id IS NULL")
    with op.batch_alter_table("models", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.alter_column("dataset_id", existing_type=sa.Integer(), nullable=False)
        batch.drop_column("source_url")
        batch.drop_column("custom_metadata")
