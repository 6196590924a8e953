"""requirement lists per cycle, as the documents service announces them

Revision ID: 0005_requirement_lists
Revises: 0004_browser_sign_in
Create Date: 2026-11-25 05:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_requirement_lists"
down_revision = "0004_browser_sign_in"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "requirement_lists",
        sa.Column("cycle", sa.String(length=20), nullable=False),
        sa.Column("catalogue", sa.String(length=80), nullable=False),
        sa.Column("catalogue_title", sa.JSON(), nullable=True),
        sa.Column("kinds", sa.JSON(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("cycle", name=op.f("pk_requirement_lists")),
    )


def downgrade() -> None:
    op.drop_table("requirement_lists")
