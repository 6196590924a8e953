"""void set-password links issued before links were sealed

Until this version a link's token sat in clear in intake's outbox, notify's messages, Redis's
append-only file and the access logs; every link still open then is voided. A person asks the
award office for a new link; `make run` prints a fresh one for the first operator.

Revision ID: 0008_void_links_kept_in_clear
Revises: 0007_account_standing
Create Date: 2026-12-06 13:40:00
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0008_void_links_kept_in_clear"
down_revision = "0007_account_standing"
branch_labels = None
depends_on = None


def upgrade() -> None:
    links = sa.table("password_links", sa.column("used_at", sa.DateTime(timezone=True)),
                     sa.column("revoked_at", sa.DateTime(timezone=True)))
    op.execute(links.update().where(links.c.used_at.is_(None), links.c.revoked_at.is_(None))
               .values(revoked_at=datetime.now(UTC)))


def downgrade() -> None:
    pass  # a voided link stays void
