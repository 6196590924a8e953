"""Upgrading to sealed links voids every link still open: until then their tokens sat in clear
in the outbox, notify's messages, Redis's append-only file and the access logs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text

from shared.config import load_settings
from shared.migrations import upgrade


def test_links_issued_before_the_upgrade_are_voided_and_spent_ones_kept(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'intake.db'}"
    settings = load_settings({"DOSSIER_SECRET_KEY": "m" * 40, "DOSSIER_S3_ACCESS_KEY": "a",
                              "DOSSIER_S3_SECRET_KEY": "b", "DOSSIER_INTAKE_DATABASE_URL": url})
    upgrade("intake", settings, "0005_requirement_lists")
    now = datetime.now(UTC)
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO accounts (subject, role, name, language, active, "
                              "created_at, updated_at) VALUES ('zhang.wei', 'expert', '张伟', "
                              "'zh-CN', 1, :t, :t)"), {"t": now})
            for token_hash, used in (("open", None), ("spent", now)):
                conn.execute(text(
                    "INSERT INTO password_links (token_hash, subject, issued_by, created_at, "
                    "expires_at, used_at) VALUES (:h, 'zhang.wei', 'system', :t, :e, :u)"),
                    {"h": token_hash, "t": now, "e": now + timedelta(hours=72), "u": used})
        upgrade("intake", settings)
        with engine.connect() as conn:
            rows = dict(conn.execute(text(
                "SELECT token_hash, revoked_at FROM password_links")).all())
    finally:
        engine.dispose()
    assert rows["open"] is not None and rows["spent"] is None
