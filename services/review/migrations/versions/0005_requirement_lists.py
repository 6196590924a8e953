"""requirement lists per cycle, as the documents service announces them

Revision ID: 3a9d7e5b2c18
Revises: 8e4f2a6c1d07
Create Date: 2026-11-25 07:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "3a9d7e5b2c18"
down_revision = "8e4f2a6c1d07"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "requirement_lists",
        sa.Column("cycle", sa.String(length=60), nullable=False),
        sa.Column("catalogue", sa.String(length=80), nullable=False),
        sa.Column("catalogue_title", sa.JSON(), nullable=True),
        sa.Column("kinds", sa.JSON(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("cycle", name=op.f("pk_requirement_lists")),
    )


def downgrade() -> None:
    op.drop_table("requirement_lists")
