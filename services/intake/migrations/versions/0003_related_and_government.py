"""related parties of an applicant; the county government's recommendation reference

Revision ID: 0003_related_and_government
Revises: 0002_intake_domain
Create Date: 2026-11-25 02:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_related_and_government"
down_revision = "0002_intake_domain"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("related", sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column("government_reference", sa.String(length=200), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.drop_column("government_reference")
        batch_op.drop_column("related")
