"""score drafts; evidence files attached to objections

Revision ID: 8e4f2a6c1d07
Revises: 5c1d0e7a9b42
Create Date: 2026-11-25 04:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "8e4f2a6c1d07"
down_revision = "5c1d0e7a9b42"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "score_drafts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("panel_id", sa.String(length=36), nullable=False),
        sa.Column("application_id", sa.String(length=60), nullable=False),
        sa.Column("expert_id", sa.String(length=36), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["application_id"], ["applications.id"],
                                name=op.f("fk_score_drafts_application_id_applications")),
        sa.ForeignKeyConstraint(["expert_id"], ["experts.id"],
                                name=op.f("fk_score_drafts_expert_id_experts")),
        sa.ForeignKeyConstraint(["panel_id"], ["panels.id"],
                                name=op.f("fk_score_drafts_panel_id_panels")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_score_drafts")),
        sa.UniqueConstraint("panel_id", "application_id", "expert_id",
                            name="uq_score_drafts_panel_id"),
    )
    with op.batch_alter_table("score_drafts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_score_drafts_application_id"), ["application_id"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_score_drafts_expert_id"), ["expert_id"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_score_drafts_panel_id"), ["panel_id"],
                              unique=False)
    with op.batch_alter_table("objections", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("evidence_files", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("objections", schema=None) as batch_op:
        batch_op.drop_column("evidence_files")
    with op.batch_alter_table("score_drafts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_score_drafts_panel_id"))
        batch_op.drop_index(batch_op.f("ix_score_drafts_expert_id"))
        batch_op.drop_index(batch_op.f("ix_score_drafts_application_id"))
    op.drop_table("score_drafts")
