"""intake's case number (办件编号) kept with each accepted application

Revision ID: 0008_case_numbers
Revises: 0007_process_guardrails
Create Date: 2026-12-06 16:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_case_numbers"
down_revision = "0007_process_guardrails"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("applications") as batch:
        batch.add_column(sa.Column("case_number", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("applications") as batch:
        batch.drop_column("case_number")
