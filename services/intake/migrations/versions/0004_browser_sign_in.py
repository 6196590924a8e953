"""browser sign-in: credentials, set-password links, applicant identity on accounts

Revision ID: 0004_browser_sign_in
Revises: 0003_related_and_government
Create Date: 2026-11-25 04:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_browser_sign_in"
down_revision = "0003_related_and_government"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "credentials",
        sa.Column("subject", sa.String(length=120), nullable=False),
        sa.Column("login_key", sa.String(length=120), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=True),
        sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["subject"], ["accounts.subject"], name=op.f("fk_credentials_subject_accounts")
        ),
        sa.PrimaryKeyConstraint("subject", name=op.f("pk_credentials")),
        sa.UniqueConstraint("login_key", name=op.f("uq_credentials_login_key")),
    )
    op.create_table(
        "password_links",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=120), nullable=False),
        sa.Column("issued_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["subject"], ["accounts.subject"], name=op.f("fk_password_links_subject_accounts")
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_password_links")),
    )
    with op.batch_alter_table("password_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_password_links_subject"), ["subject"], unique=False)

    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("credit_code", sa.String(length=18), nullable=True))
        batch_op.add_column(sa.Column("id_number_cipher", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("id_masked", sa.String(length=32), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("id_masked")
        batch_op.drop_column("id_number_cipher")
        batch_op.drop_column("credit_code")
        batch_op.drop_column("kind")

    with op.batch_alter_table("password_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_password_links_subject"))

    op.drop_table("password_links")
    op.drop_table("credentials")
