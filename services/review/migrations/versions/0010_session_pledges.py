"""session pledges: one confidentiality pledge per review session (panel), and each panel's
`pledge_scope` (`session`, the default, or `dossier` where the cycle asks for one per dossier)

Revision ID: 0010_session_pledges
Revises: 0009_cycle_dates
Create Date: 2026-12-06 19:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_session_pledges"
down_revision = "0009_cycle_dates"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("panels", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pledge_scope", sa.String(length=10), nullable=False,
                                      server_default="session"))
    op.create_table(
        "session_pledges",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("expert_id", sa.String(length=36), nullable=False),
        sa.Column("panel_id", sa.String(length=36), nullable=False),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["expert_id"], ["experts.id"],
                                name=op.f("fk_session_pledges_expert_id_experts")),
        sa.ForeignKeyConstraint(["panel_id"], ["panels.id"],
                                name=op.f("fk_session_pledges_panel_id_panels")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_pledges")),
        sa.UniqueConstraint("expert_id", "panel_id", name="uq_session_pledges_expert_id"),
    )
    with op.batch_alter_table("session_pledges", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_session_pledges_expert_id"), ["expert_id"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("session_pledges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_session_pledges_expert_id"))
    op.drop_table("session_pledges")
    with op.batch_alter_table("panels", schema=None) as batch_op:
        batch_op.drop_column("pledge_scope")
