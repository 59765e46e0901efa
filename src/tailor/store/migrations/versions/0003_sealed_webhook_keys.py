"""webhook signing keys sealed at rest

``api_tokens.webhook_key_sealed`` holds the webhook signing key sealed under the server secret;
``webhook_key`` (the key in clear) becomes nullable. A migration cannot know the server secret, so
existing rows keep their clear key here: the API seals them on its next start
(``store.orgs.seal_plain_webhook_keys``, run by ``bootstrap.build_runtime`` after migrating) and
clears ``webhook_key``. Until then workers still sign with the clear key.

Downgrading needs every key in clear, which only the server secret can give back: it refuses while
sealed-only rows exist (delete those tokens, or restore a backup, first).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-08 10:00:00
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _batch_kwargs() -> dict[str, Any]:
    # a SQLite batch rebuilds the table: keep 0002's AUTOINCREMENT (ids are never reused)
    if op.get_bind().dialect.name == "sqlite":
        return {"recreate": "always", "table_kwargs": {"sqlite_autoincrement": True}}
    return {}


def upgrade() -> None:
    with op.batch_alter_table("api_tokens", **_batch_kwargs()) as batch:
        batch.add_column(sa.Column("webhook_key_sealed", sa.String(length=128), nullable=True))
        batch.alter_column("webhook_key", existing_type=sa.String(length=64), nullable=True)


def downgrade() -> None:
    sealed_only = (
        op.get_bind().execute(sa.text("SELECT count(*) FROM api_tokens WHERE webhook_key IS NULL")).scalar()
    )
    if sealed_only:
        raise RuntimeError(
            f"{sealed_only} API token(s) have only a sealed webhook key; revision 0002 needs it in "
            "clear, which needs the server secret: delete those tokens before downgrading"
        )
    with op.batch_alter_table("api_tokens", **_batch_kwargs()) as batch:
        batch.alter_column("webhook_key", existing_type=sa.String(length=64), nullable=False)
        batch.drop_column("webhook_key_sealed")
