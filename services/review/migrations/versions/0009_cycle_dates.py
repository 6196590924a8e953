"""cycle dates: the application deadline and the review stages' dates from `cycle.saved`, so
date rules (conflict windows) are counted to the cycle's own dates, not to the wall clock

Revision ID: 0009_cycle_dates
Revises: 0008_case_numbers
Create Date: 2026-12-06 17:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_cycle_dates"
down_revision = "0008_case_numbers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cycles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("closes_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("stages", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("announced_at", sa.DateTime(timezone=True),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cycles", schema=None) as batch_op:
        batch_op.drop_column("announced_at")
        batch_op.drop_column("stages")
        batch_op.drop_column("closes_on")
