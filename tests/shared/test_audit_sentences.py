"""The audit log reads as sentences: who, when, did what, to what; the raw record one click
away (issue 15, point 5). In-process: notify's app on its own SQLite database."""

from __future__ import annotations

import re
import sys
from datetime import UTC, datetime
from pathlib import Path

from inprocess import service_app

from dossier.localstack import BackingServers
from services.notify.models import Recipient

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))
from plain_words import raw_codes, visible_text


def test_the_audit_log_names_who_did_what_to_whom(backing: BackingServers,
                                                  tmp_path: Path) -> None:
    notify = service_app(backing, tmp_path, "notify")
    ctx = notify.ctx
    now = datetime(2026, 12, 6, 6, 5, tzinfo=UTC)
    with ctx.db.session() as session:
        for subject, role, name in (("org-9114ab", "applicant", "山西示例重工有限公司"),
                                    ("op-7", "operator", "张三")):
            session.add(Recipient(subject=subject, role=role, name=name, language="zh-CN",
                                  active=True, updated_at=now))
        ctx.audit.append(session, actor="op-7", role="operator", action="notify.preferences",
                         target="recipient:org-9114ab", detail={"email": False})
        ctx.audit.append(session, actor="op-unknown", role="operator", action="thing.new_kind",
                         target="recipient:nobody", detail={})
    headers = notify.auth("supervisor", "sup-1")
    zh = notify.client.get("/audit?lang=zh-CN", headers=headers).get_data(as_text=True)
    en = notify.client.get("/audit?lang=en", headers=headers).get_data(as_text=True)
    records = re.findall(r"<td [^>]*data-record>([^<]*)</td>", zh)
    assert re.fullmatch(r"张三（市市场监管局工作人员） 于 \d{4}年\d{1,2}月\d{1,2}日 [\d:]{8} "
                        r"修改了通知设置：山西示例重工有限公司。", records[1]), records[1]
    # A code nobody has named yet, by someone the directory does not know: still words.
    assert records[0].startswith("市市场监管局工作人员 于 ") and "进行了其他操作" in records[0]
    assert raw_codes("\n".join(records)) == []
    assert "notify.preferences" not in visible_text(zh)
    # The raw record is on the page, behind a click.
    assert "<details><summary>查看原始记录</summary>" in zh and "notify.preferences" in zh
    assert "changed notification settings: 山西示例重工有限公司" in en
