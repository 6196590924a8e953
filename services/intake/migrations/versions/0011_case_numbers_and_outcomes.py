"""case numbers (办件编号) for applications, and the outcomes review announces

Every application gets a short case number people can quote instead of its id: existing ones
are numbered per cycle in the order they were opened, and each cycle remembers its last number.
`application_outcomes` keeps what review announced (publicity, decision, revocation) for the
applicant's timeline.

Revision ID: 0011_case_numbers_and_outcomes
Revises: 0010_draft_checklist
Create Date: 2026-12-06 16:10:00
"""

from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa
from alembic import op

revision = "0011_case_numbers_and_outcomes"
down_revision = "0010_draft_checklist"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cycles") as batch:
        batch.add_column(sa.Column("case_seq", sa.Integer(), server_default="0",
                                   nullable=False))
    with op.batch_alter_table("applications") as batch:
        batch.add_column(sa.Column("case_number", sa.String(length=40), nullable=True))
    _number_existing()
    with op.batch_alter_table("applications") as batch:
        batch.create_unique_constraint("uq_applications_case_number", ["case_number"])
    op.create_table(
        "application_outcomes",
        sa.Column("application_id", sa.String(length=36), nullable=False),
        sa.Column("cycle", sa.String(length=20), nullable=False),
        sa.Column("listed", sa.Boolean(), nullable=True),
        sa.Column("publicity_starts_on", sa.Date(), nullable=True),
        sa.Column("publicity_ends_on", sa.Date(), nullable=True),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("tier", sa.String(length=20), nullable=True),
        sa.Column("tier_title", sa.JSON(), nullable=True),
        sa.Column("cycle_title", sa.String(length=200), nullable=True),
        sa.Column("decision_reference", sa.String(length=200), nullable=True),
        sa.Column("revoked_on", sa.Date(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("application_id", name=op.f("pk_application_outcomes")),
    )
    op.create_index(op.f("ix_application_outcomes_cycle"), "application_outcomes", ["cycle"])


def _number_existing() -> None:
    """Number the applications already there, per cycle in the order they were opened (the
    same form `services.intake.case_numbers` gives new ones)."""
    apps = sa.table("applications", sa.column("id", sa.String), sa.column("cycle", sa.String),
                    sa.column("created_at", sa.DateTime), sa.column("case_number", sa.String))
    cycles = sa.table("cycles", sa.column("id", sa.String), sa.column("case_seq", sa.Integer))
    bind = op.get_bind()
    rows = bind.execute(sa.select(apps.c.id, apps.c.cycle)
                        .order_by(apps.c.cycle, apps.c.created_at, apps.c.id)).all()
    last: dict[str, int] = defaultdict(int)
    for app_id, cycle in rows:
        last[cycle] += 1
        bind.execute(apps.update().where(apps.c.id == app_id)
                     .values(case_number=f"{cycle}-{last[cycle]:04d}"))
    for cycle, seq in last.items():
        bind.execute(cycles.update().where(cycles.c.id == cycle).values(case_seq=seq))


def downgrade() -> None:
    op.drop_index(op.f("ix_application_outcomes_cycle"), table_name="application_outcomes")
    op.drop_table("application_outcomes")
    with op.batch_alter_table("applications") as batch:
        batch.drop_constraint("uq_applications_case_number", type_="unique")
        batch.drop_column("case_number")
    with op.batch_alter_table("cycles") as batch:
        batch.drop_column("case_seq")
