"""images keep their previous caption and say where they came from

``previous_caption``: the caption before the last change (a regenerated, refined or hand-edited
caption), so the console can show what changed.
``upload_source`` (upload | zip | url), ``file_size`` (bytes stored), ``source_width`` /
``source_height`` (the size as uploaded, before any upscaling). Rows from before this revision
get ``upload_source`` from how they must have arrived (a URL recorded: url; an advanced dataset:
zip; else upload) and their size as uploaded from ``image_measures``; ``file_size`` stays null.

Revision ID: 0011_caption_history
Revises: 0010
Create Date: 2026-12-01 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_caption_history"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("images") as batch:
        batch.add_column(sa.Column("previous_caption", sa.Text(), nullable=True))
        batch.add_column(sa.Column("upload_source", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("file_size", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("source_width", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("source_height", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE images SET upload_source = CASE "
        "WHEN upload_source_url IS NOT NULL THEN 'url' "
        "WHEN (SELECT d.upload_type FROM datasets d WHERE d.id = images.dataset_id) = 'advanced' "
        "THEN 'zip' ELSE 'upload' END"
    )
    op.execute(
        "UPDATE images SET "
        "source_width = (SELECT m.source_width FROM image_measures m WHERE m.image_id = images.id), "
        "source_height = (SELECT m.source_height FROM image_measures m WHERE m.image_id = images.id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("images") as batch:
        for name in (
            "source_height",
            "source_width",
            "file_size",
            "upload_source",
            "previous_caption",
        ):
            batch.drop_column(name)
