"""The verdict people see on a tampered audit log: the supervisor's page (in-process, zh-CN and
English) and `dossier audit verify` (a real process), for one service's migrated SQLite database
and its anchors in the real S3 server."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from flask.testing import FlaskClient
from sqlalchemy import select, text, update

from dossier.localstack import BackingServers
from services.notify.app import create_app
from shared.account_states import AccountStates
from shared.audit import AuditKey, AuditLog, drop_append_only_ddl, iso, record_hash
from shared.auth import issue_token
from shared.config import Settings, load_settings
from shared.db import Database, service_metadata
from shared.migrations import upgrade


@dataclass
class Notify:
    env: dict[str, str]
    settings: Settings
    db: Database
    audit: AuditLog
    client: FlaskClient

    def append(self, n: int) -> None:
        for i in range(n):
            with self.db.session() as session:
                self.audit.append(session, actor="op-1", role="operator", action="thing.done",
                                  target=f"t-{i}", detail={"i": i})

    def past_the_triggers(self, *statements: str) -> None:
        with self.db.engine.begin() as conn:
            for statement in drop_append_only_ddl("sqlite"):
                conn.exec_driver_sql(statement)
            for statement in statements:
                conn.execute(text(statement))

    def page(self, lang: str = "zh-CN") -> str:
        token = issue_token(self.settings.secret_key, subject="sup-1", role="supervisor",
                            ttl_seconds=600)
        r = self.client.get(f"/audit?lang={lang}", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200
        return r.get_data(as_text=True)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "dossier.cli", "audit", *args,
                               "--service", "notify"], capture_output=True, text=True,
                              env=self.env, check=False, timeout=120)


@pytest.fixture
def notify(backing: BackingServers, tmp_path: Path) -> Iterator[Notify]:
    url = f"sqlite:///{tmp_path / 'notify.db'}"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("DOSSIER_")},
           "DOSSIER_DATA_DIR": str(tmp_path), "DOSSIER_SECRET_KEY": secrets.token_urlsafe(32),
           "DOSSIER_S3_ENDPOINT": backing.s3_endpoint,
           "DOSSIER_S3_ACCESS_KEY": backing.access_key,
           "DOSSIER_S3_SECRET_KEY": backing.secret_key,
           "DOSSIER_S3_BUCKET": f"verdict-{secrets.token_hex(5)}",
           "DOSSIER_REDIS_URL": backing.redis_url_for(14),
           "DOSSIER_NOTIFY_DATABASE_URL": url, "DOSSIER_I18N_STRICT": "true"}
    settings = load_settings(env)
    upgrade("notify", settings)
    db = Database(url)
    audit = AuditLog(service_metadata().tables["audit_log"], AuditKey(settings.audit_secret()))
    app = create_app(settings)
    # No intake here to publish the accounts' standing: say there are none to check.
    AccountStates(redis.Redis.from_url(settings.redis_url)).publish([], complete=True)
    try:
        yield Notify(env, settings, db, audit, app.test_client())
    finally:
        db.engine.dispose()


def test_a_tail_cut_after_an_anchor_shows_on_the_page_and_fails_the_command(
        notify: Notify) -> None:
    notify.append(5)
    done = notify.cli("anchor")
    assert done.returncode == 0, done.stderr
    assert "notify: anchored at record 5" in done.stdout
    done = notify.cli("verify")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "notify: OK, 5 record(s); agrees with 1 anchor(s)" in done.stdout
    intact = notify.page()
    assert 'data-chain="ok"' in intact and "untranslated" not in intact
    assert "与对象存储中保存的全部 1 个锚点一致" in intact and "指向第 5 条记录" in intact

    notify.past_the_triggers("DELETE FROM audit_log WHERE seq >= 4")

    done = notify.cli("verify")
    assert done.returncode == 1
    assert "notify: BROKEN at record 4: records are missing from here on" in done.stdout
    zh = notify.page()
    assert 'data-chain="broken" data-problem="truncated" data-seq="4"' in zh
    assert "哈希链在第 4 条记录处断开：从此处起记录缺失" in zh
    assert "指向第 5 条记录" in zh
    assert "untranslated" not in zh
    en = notify.page("en")
    assert "Hash chain broken at record 4: records are missing from here on" in en


def test_an_edit_with_the_chain_recomputed_in_plain_sha256_shows_on_the_page_and_fails_the_command(
        notify: Notify) -> None:
    notify.append(3)
    notify.past_the_triggers("UPDATE audit_log SET actor = 'someone-else' WHERE seq = 2")
    table = notify.audit.table
    with notify.db.engine.begin() as conn:
        prev = "0" * 64
        for row in conn.execute(select(table).order_by(table.c.seq)).all():
            digest = record_hash(None, prev, row.seq, iso(row.at), row.actor, row.role,
                                 row.action, row.target, row.detail)
            conn.execute(update(table).where(table.c.seq == row.seq)
                         .values(prev_hash=prev, hash=digest))
            prev = digest

    done = notify.cli("verify")
    assert done.returncode == 1
    assert "notify: BROKEN at record 1: record content does not match its keyed hash" \
        in done.stdout
    zh = notify.page()
    assert 'data-problem="content" data-seq="1"' in zh
    assert "哈希并非用审计密钥计算" in zh
