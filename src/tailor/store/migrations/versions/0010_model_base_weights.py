"""models remember the base weights they were trained on

A model's ``training_version`` names its base-model family (``fibo``, ``fibo-2``);
``base_weights`` records the weights of that family the adapter was trained on (a hub id or a
local directory), set when training completes.

Revision ID: 0010
Revises: 0007
Create Date: 2026-12-01 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("models") as batch:
        batch.add_column(sa.Column("base_weights", sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("models") as batch:
        batch.drop_column("base_weights")
