"""accounts carry what every service checks tokens against: last sign-out-everywhere, version

Revision ID: 0007_account_standing
Revises: 0006_keyed_audit_chain
Create Date: 2026-12-06 13:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_account_standing"
down_revision = "0006_keyed_audit_chain"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("accounts", sa.Column("signed_out_at", sa.DateTime(timezone=True),
                                        nullable=True))
    op.add_column("accounts", sa.Column("state_version", sa.Integer(), nullable=False,
                                        server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("state_version")
        batch.drop_column("signed_out_at")
