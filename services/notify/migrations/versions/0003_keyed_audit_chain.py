"""audit records re-signed with the audit key (HMAC-SHA256 instead of plain SHA-256)

Revision ID: 0003_keyed_audit_chain
Revises: a0e1fa1d71f9
Create Date: 2026-12-06 13:20:00
"""

from __future__ import annotations

from shared.migrations import resign_audit_chain

revision = "0003_keyed_audit_chain"
down_revision = "a0e1fa1d71f9"
branch_labels = None
depends_on = None


def upgrade() -> None:
    resign_audit_chain(keyed=True)


def downgrade() -> None:
    resign_audit_chain(keyed=False)
