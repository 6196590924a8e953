"""the applicant's trade-secret marking on each packet document, for the material viewer

Revision ID: 0004_document_marking
Revises: 0003_keyed_audit_chain
Create Date: 2026-12-06 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_document_marking"
down_revision = "0003_keyed_audit_chain"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("packet_documents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("confidentiality", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("secret_pages", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("packet_documents", schema=None) as batch_op:
        batch_op.drop_column("secret_pages")
        batch_op.drop_column("confidentiality")
