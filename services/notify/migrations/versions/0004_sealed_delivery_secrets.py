"""deliveries keep an event's sealed credential (a set-password link) until sent

Revision ID: 5e41ed0c7a12
Revises: 0003_keyed_audit_chain
Create Date: 2026-12-06 13:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "5e41ed0c7a12"
down_revision = "0003_keyed_audit_chain"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("sealed", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("sealed")
