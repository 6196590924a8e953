"""panel shortlist: the applications one stage reviews

Revision ID: 5c1d0e7a9b42
Revises: b76acc7a773a
Create Date: 2026-11-25 02:22:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "5c1d0e7a9b42"
down_revision = "b76acc7a773a"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("panels", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("applications", sa.JSON(), nullable=False, server_default="[]")
        )


def downgrade() -> None:
    with op.batch_alter_table("panels", schema=None) as batch_op:
        batch_op.drop_column("applications")
