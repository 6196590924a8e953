"""process guardrails and objection follow-up: a list's recorded reason for departing from the
order of the Measures and its notice; an objection's receipt code, investigation and answer

Revision ID: 0007_process_guardrails
Revises: 0006_keyed_audit_chain
Create Date: 2026-12-06 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_process_guardrails"
down_revision = "0006_keyed_audit_chain"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("public_lists", schema=None) as batch_op:
        batch_op.add_column(sa.Column("deviations", sa.JSON(), nullable=False,
                                      server_default="[]"))
        batch_op.add_column(sa.Column("deviation_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("notice", sa.JSON(), nullable=True))
    with op.batch_alter_table("objections", schema=None) as batch_op:
        batch_op.add_column(sa.Column("receipt_code", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("investigating_since", sa.DateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column("answer", sa.Text(), nullable=True))
        batch_op.create_index(batch_op.f("ix_objections_receipt_code"), ["receipt_code"],
                              unique=True)


def downgrade() -> None:
    with op.batch_alter_table("objections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_objections_receipt_code"))
        batch_op.drop_column("answer")
        batch_op.drop_column("investigating_since")
        batch_op.drop_column("receipt_code")
    with op.batch_alter_table("public_lists", schema=None) as batch_op:
        batch_op.drop_column("notice")
        batch_op.drop_column("deviation_reason")
        batch_op.drop_column("deviations")
