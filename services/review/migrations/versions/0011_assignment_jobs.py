"""assignment jobs: a panel's assignment run on review's worker, with its phase, progress,
cancel request and outcome

Revision ID: 0011_assignment_jobs
Revises: 0010_session_pledges
Create Date: 2026-12-06 20:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_assignment_jobs"
down_revision = "0010_session_pledges"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "assignment_jobs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("panel_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("phase", sa.String(length=20), nullable=False),
        sa.Column("fraction", sa.Float(), nullable=False),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("requested_by", sa.String(length=120), nullable=False),
        sa.Column("requested_role", sa.String(length=20), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("pairs", sa.Integer(), nullable=True),
        sa.Column("error_code", sa.String(length=60), nullable=True),
        sa.Column("error", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["panel_id"], ["panels.id"],
                                name=op.f("fk_assignment_jobs_panel_id_panels")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignment_jobs")),
    )
    with op.batch_alter_table("assignment_jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_assignment_jobs_panel_id"), ["panel_id"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("assignment_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assignment_jobs_panel_id"))
    op.drop_table("assignment_jobs")
