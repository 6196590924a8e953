"""applications keep the documents service's checklist of their current versions

`packet.checked` for the draft (submission 0) now carries each requirement's verdict and
reasons; intake keeps it apart from the report on a submission, so a new version after a return
is judged on the applicant's page before the packet is submitted again.

Revision ID: 0010_draft_checklist
Revises: 0008_void_links_kept_in_clear
Create Date: 2026-12-06 16:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_draft_checklist"
down_revision = "0009_cycle_setup_and_units"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("applications", sa.Column("draft_checklist", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("applications") as batch:
        batch.drop_column("draft_checklist")
