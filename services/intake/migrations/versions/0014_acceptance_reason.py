"""acceptance lists keep the reason a publicity started before the day it was published

Revision ID: 0014_acceptance_reason
Revises: 0013_personal_tokens
Create Date: 2026-12-06 17:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_acceptance_reason"
down_revision = "0013_personal_tokens"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("acceptance_lists", schema=None) as batch_op:
        batch_op.add_column(sa.Column("deviation_reason", sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("acceptance_lists", schema=None) as batch_op:
        batch_op.drop_column("deviation_reason")
