"""review stages of a cycle; recommending units as a table the operator edits

The units are seeded from the units file (`DOSSIER_INTAKE_UNITS_FILE`, else the list shipped
with intake), so an existing installation keeps exactly the units it had.

Revision ID: 0009_cycle_setup_and_units
Revises: 0008_void_links_kept_in_clear
Create Date: 2026-12-06 16:10:00
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml
from alembic import context, op

revision = "0009_cycle_setup_and_units"
down_revision = "0008_void_links_kept_in_clear"
branch_labels = None
depends_on = None

# The file as shipped when this revision was written (the migration must not follow later
# changes of the module that loads it).
SHIPPED = Path(__file__).resolve().parents[2] / "data" / "units.yaml"


def _seed() -> list[dict[str, Any]]:
    settings = context.config.attributes.get("settings")
    path = getattr(settings, "intake_units_file", None) or SHIPPED
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    now = datetime.now(UTC)
    return [{"code": str(u["code"]), "kind": u["kind"], "name": u["name"],
             "name_en": u.get("name_en") or u["name"], "active": True, "position": i,
             "created_at": now, "updated_at": now}
            for i, u in enumerate(raw.get("units") or [])]


def upgrade() -> None:
    with op.batch_alter_table("cycles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stages", sa.JSON(), nullable=True))
    units = op.create_table(
        "recommending_units",
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_recommending_units")),
    )
    rows = _seed()
    if rows:
        op.bulk_insert(units, rows)


def downgrade() -> None:
    op.drop_table("recommending_units")
    with op.batch_alter_table("cycles", schema=None) as batch_op:
        batch_op.drop_column("stages")
