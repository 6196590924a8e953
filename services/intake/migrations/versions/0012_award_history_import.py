"""award history imported by the operator: where each record came from

A record imported from the office's file of past awards, nominations and revocations carries the
cycle's ordinal name (第二届), the revocation date, and its source (file, row, import), so a ban
can cite the record behind it.

Revision ID: 0012_award_history_import
Revises: 0011_case_numbers_and_outcomes
Create Date: 2026-12-06 16:55:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_award_history_import"
down_revision = "0011_case_numbers_and_outcomes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("award_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("cycle_title", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("revoked_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("source", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("imported_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("award_records", schema=None) as batch_op:
        batch_op.drop_column("imported_at")
        batch_op.drop_column("source")
        batch_op.drop_column("revoked_on")
        batch_op.drop_column("cycle_title")
        batch_op.drop_column("name")
