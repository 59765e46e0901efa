"""generation history per project

``generations`` keeps one row per image made with a project's model (v2 tailored generation and
tailored edits): the request, the model and checkpoint, the prompts, seed and every parameter of
``result.parameters``, and the image's blob key.

Revision ID: 0012_generations
Revises: 0011_caption_history
Create Date: 2026-12-01 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_generations"
down_revision = "0011_caption_history"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "generations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=True),
        sa.Column("model_name", sa.String(length=500), nullable=True),
        sa.Column("model_version", sa.String(length=32), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("token_id", sa.Integer(), nullable=True),
        sa.Column("endpoint", sa.String(length=200), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=True),
        sa.Column("structured_prompt", sa.Text(), nullable=True),
        sa.Column("seed", sa.BigInteger(), nullable=True),
        sa.Column("parameters", sa.JSON(), nullable=True),
        sa.Column("image_key", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["token_id"], ["api_tokens.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_id"),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_generations_organization_id"), "generations", ["organization_id"], unique=False)
    op.create_index(op.f("ix_generations_model_id"), "generations", ["model_id"], unique=False)
    op.create_index("ix_generations_project_newest", "generations", ["project_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_generations_project_newest", table_name="generations")
    op.drop_index(op.f("ix_generations_model_id"), table_name="generations")
    op.drop_index(op.f("ix_generations_organization_id"), table_name="generations")
    op.drop_table("generations")
