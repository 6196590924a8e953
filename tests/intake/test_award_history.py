"""The award-history import in process: past awards, nominations and revocations read from a CSV
or XLSX file, checked row by row, previewed, committed all-or-nothing, and then enforced as bans
that cite the imported record."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from inprocess import InProcess, service_app
from sqlalchemy import select, text

from dossier.localstack import BackingServers
from intake.flows import new_id_number, new_uscc
from services.intake.identifiers import is_valid_uscc
from services.intake.models import AwardRecord

HEADER = "奖项,届次,年度,统一社会信用代码或身份证号,名称,等次,撤销日期,撤销理由,类型\n"
PROGRAMME = "忻州市市长质量奖"
THIS_YEAR = date.today().year


@pytest.fixture
def intake(backing: BackingServers, tmp_path: Path) -> InProcess:
    return service_app(backing, tmp_path, "intake")


def _csv(*rows: str) -> bytes:
    return (HEADER + "".join(f"{r}\n" for r in rows)).encode()


def _send(intake: InProcess, data: bytes, mode: str = "preview",
          filename: str = "history.csv") -> Any:
    return intake.client.post(
        f"/api/award-history?mode={mode}", headers=intake.auth("operator", "op-history"),
        data={"file": (io.BytesIO(data), filename)}, content_type="multipart/form-data")


def _records(intake: InProcess) -> list[tuple[Any, ...]]:
    with intake.ctx.db.reader() as session:
        return [(r.application_id, r.year, r.tier, r.name, r.revoked_on, r.source,
                 r.imported_at)
                for r in session.execute(select(AwardRecord).order_by(AwardRecord.seq))
                .scalars()]


def _audits(intake: InProcess) -> int:
    with intake.ctx.db.reader() as session:
        return int(session.execute(text(
            "SELECT count(*) FROM audit_log WHERE action = 'award_history.imported'")).scalar())


def _open_cycle(intake: InProcess) -> str:
    today = date.today()
    r = intake.client.put(f"/api/cycles/{THIS_YEAR}", headers=intake.auth("operator", "op"),
                          json={"year": THIS_YEAR, "title": "第六届忻州市市长质量奖",
                                "opens_on": (today - timedelta(days=5)).isoformat(),
                                "closes_on": (today + timedelta(days=30)).isoformat(),
                                "status": "open"})
    assert r.status_code == 200, r.get_data(as_text=True)
    return str(THIS_YEAR)


def _apply(intake: InProcess, cycle: str, **fields: Any) -> Any:
    body: dict[str, Any] = {"cycle": cycle, "kind": "organisation", "name": "忻州市某公司",
                            "county": "140902", "industry": "装备制造",
                            "founded_on": "2010-06-01", "legal_representative": "张三",
                            **fields}
    if body["kind"] == "individual":
        body = {k: v for k, v in body.items()
                if k not in ("founded_on", "legal_representative", "industry")}
        body.update(employer="忻州市某公司", quality_years=8)
    return intake.client.post("/api/applications", json=body,
                              headers=intake.auth("applicant", f"a-{fields.get('name', 'x')}"))


def test_a_valid_file_is_previewed_committed_and_a_second_import_changes_nothing(
        intake: InProcess) -> None:
    winner, person, revoked, nominee = new_uscc(), new_id_number(), new_uscc(), new_uscc()
    data = _csv(f"{PROGRAMME},第五届（{THIS_YEAR - 2}）,,{winner},忻州市甲公司,获奖,,",
                f"{PROGRAMME},第五届,{THIS_YEAR - 2},{person},李四,获奖,,,个人",
                f"xinzhou-mayor-quality-award,{THIS_YEAR - 6},,{revoked},忻州市乙公司,获奖,"
                f"{THIS_YEAR - 1}-03-01,弄虚作假",
                f"{PROGRAMME},第五届（{THIS_YEAR - 2}年）,,{nominee},忻州市丙公司,提名,,")

    r = _send(intake, data)
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.get_json()["counts"] == {"new": 4, "updated": 0, "unchanged": 0, "invalid": 0}
    assert r.get_json()["committed"] is False
    assert _records(intake) == [] and _audits(intake) == 0  # a preview writes nothing

    r = _send(intake, data, "commit")
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.get_json()["committed"] is True
    stored = _records(intake)
    assert [(s[1], s[2], s[3]) for s in stored] == [
        (THIS_YEAR - 2, "award", "忻州市甲公司"), (THIS_YEAR - 2, "award", "李四"),
        (THIS_YEAR - 6, "award", "忻州市乙公司"), (THIS_YEAR - 2, "nomination", "忻州市丙公司")]
    assert stored[2][4] == date(THIS_YEAR - 1, 3, 1)
    assert stored[0][5].startswith("history.csv（") and stored[0][5].endswith("第 2 行")
    assert _audits(intake) == 1
    with intake.ctx.db.reader() as session:  # the identity number itself is never stored
        assert person not in str(list(session.execute(text("SELECT * FROM award_records"))))

    listed = intake.client.get("/api/award-history?per_page=10",
                               headers=intake.auth("supervisor", "sup")).get_json()
    assert listed["total"] == 4
    assert {i["name"]: i["credit_code"] for i in listed["items"]}["李四"] is None
    assert "id_index" not in listed["items"][0]
    assert any(i["revoked_on"] == f"{THIS_YEAR - 1}-03-01" and i["ground"] == "弄虚作假"
               for i in listed["items"])

    r = _send(intake, data, "commit", filename="history-again.csv")
    assert r.status_code == 200
    assert r.get_json()["counts"] == {"new": 0, "updated": 0, "unchanged": 4, "invalid": 0}
    assert _records(intake) == stored and _audits(intake) == 1

    # A later file that adds a revocation to a known award updates that one record.
    r = _send(intake, _csv(f"{PROGRAMME},第五届（{THIS_YEAR - 2}）,,{winner},忻州市甲公司,获奖,"
                           f"{THIS_YEAR}-01-05,冒用标志"), "commit")
    assert r.get_json()["counts"]["updated"] == 1
    assert r.get_json()["rows"][0]["changes"] == [
        {"zh-CN": f"撤销日期：（空） → {THIS_YEAR}-01-05", "en": f"revocation date: (empty) → "
         f"{THIS_YEAR}-01-05"},
        {"zh-CN": "撤销理由：（空） → 冒用标志", "en": "ground: (empty) → 冒用标志"}]
    assert _records(intake)[0][4] == date(THIS_YEAR, 1, 5) and len(_records(intake)) == 4


def test_an_xlsx_file_is_read_like_a_csv(intake: InProcess) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(HEADER.strip().split(","))
    sheet.append([PROGRAMME, "第五届", THIS_YEAR - 2, new_uscc(), "忻州市丁公司", "获奖",
                  None, None])
    sheet.append([PROGRAMME, "第四届", THIS_YEAR - 4, new_uscc(), "忻州市戊公司", "获奖",
                  date(THIS_YEAR - 3, 5, 1), "重大质量事故"])
    out = io.BytesIO()
    book.save(out)
    r = _send(intake, out.getvalue(), filename="history.xlsx")
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.get_json()["counts"]["new"] == 2, r.get_json()


def _both() -> str:
    """An identity number that also passes the credit code's check (about one in 31 do)."""
    while not is_valid_uscc(number := new_id_number()):
        pass
    return number


def _errors(report: dict[str, Any], line: int) -> str:
    row = next(r for r in report["rows"] if r["line"] == line)
    assert row["status"] == "invalid"
    return " ".join(e["zh-CN"] for e in row["errors"])


def test_each_kind_of_bad_row_gets_its_own_message_and_a_commit_writes_nothing(
        intake: InProcess) -> None:
    good, decided = new_uscc(), new_uscc()
    bad_uscc = good[:-1] + ("0" if good[-1] != "0" else "1")
    person = new_id_number()
    # A wrong check digit, and not one that happens to pass the credit code's check instead.
    bad_id = next(person[:-1] + d for d in "0123456789X" if d != person[-1]
                  and not is_valid_uscc(person[:-1] + d))
    with intake.ctx.db.session() as session:  # an outcome decided in this installation
        session.add(AwardRecord(cycle="c-old", programme="xinzhou-mayor-quality-award",
                                year=THIS_YEAR - 2, application_id="a-decided", owner="o",
                                kind="organisation", credit_code=decided, tier="award"))
    data = _csv(f"{PROGRAMME},第五届（{THIS_YEAR - 2}）,,{good},忻州市甲公司,获奖,,",       # 2 ok
                f"{PROGRAMME},第五届（{THIS_YEAR - 2}）,,{bad_uscc},忻州市乙公司,获奖,,",   # 3
                f"{PROGRAMME},第五届（{THIS_YEAR - 2}）,,{bad_id},王五,获奖,,",             # 4
                f"太原市市长质量奖,第五届（{THIS_YEAR - 2}）,,{new_uscc()},某公司,获奖,,",  # 5
                f"{PROGRAMME},第五届（{THIS_YEAR - 4}）,,{new_uscc()},某公司,获奖,"
                f"{THIS_YEAR - 1}-02-30,弄虚作假",                                         # 6
                f"{PROGRAMME},第五届（{THIS_YEAR - 2}）,,{good},忻州市甲公司,提名,,",       # 7
                f"{PROGRAMME},第五届（{THIS_YEAR - 2}）,,{decided},忻州市己公司,获奖,,",    # 8
                f"{PROGRAMME},第五届,,{new_uscc()},某公司,获奖,,",                          # 9
                f"{PROGRAMME},第五届（{THIS_YEAR - 2}）,,{new_uscc()},某公司,特等奖,,",     # 10
                f"{PROGRAMME},第五届（{THIS_YEAR - 2}）,,{new_uscc()},某公司,提名,"
                f"{THIS_YEAR - 1}-01-01,弄虚作假",                                         # 11
                f"{PROGRAMME},第五届（{THIS_YEAR - 2}）,,{new_uscc()},某公司,获奖,"
                f"{THIS_YEAR - 1}-01-01,",                                                 # 12
                f"{PROGRAMME},第七届（{THIS_YEAR + 2}）,,{new_uscc()},某公司,获奖,,",       # 13
                f"{PROGRAMME},第五届（{THIS_YEAR - 2}）,,{new_uscc()},,获奖,,",            # 14
                f"{PROGRAMME},第五届（{THIS_YEAR - 2}）,,{_both()},赵六,获奖,,",           # 15
                f"{PROGRAMME},第五届（{THIS_YEAR - 2}）,,{new_uscc()},某公司,获奖,,,个人")  # 16

    report = _send(intake, data).get_json()
    assert report["counts"] == {"new": 1, "updated": 0, "unchanged": 0, "invalid": 14}
    assert "既不是有效的统一社会信用代码，也不是有效的居民身份证号码" in _errors(report, 3)
    assert "校验位" in _errors(report, 4)
    assert "未知的奖项「太原市市长质量奖」" in _errors(report, 5)
    assert "不是有效日期" in _errors(report, 6)
    assert "与第 2 行重复" in _errors(report, 7)
    assert "本系统已有" in _errors(report, 8)
    assert "没有年度" in _errors(report, 9)
    assert "等次「特等奖」无法识别" in _errors(report, 10)
    assert "提名不能撤销" in _errors(report, 11)
    assert "须同时填写撤销日期和撤销理由" in _errors(report, 12)
    assert "尚未到来" in _errors(report, 13)
    assert "请填写“名称”" in _errors(report, 14)
    assert "请在“类型”列填写“单位”或“个人”" in _errors(report, 15)
    assert "不是有效的居民身份证号码" in _errors(report, 16)

    r = _send(intake, data, "commit")
    assert r.status_code == 422
    body = r.get_json()
    assert body["code"] == "award_history.invalid"
    assert [row["line"] for row in body["errors"]["rows"]] == list(range(3, 17))
    assert [rec[0] for rec in _records(intake)] == ["a-decided"] and _audits(intake) == 0


def test_a_file_without_the_template_columns_is_refused_as_a_whole(intake: InProcess) -> None:
    r = _send(intake, "名称,等次\n某公司,获奖\n".encode())
    assert r.status_code == 422
    assert r.get_json()["code"] == "award_history.file_unreadable"
    assert "奖项" in r.get_json()["title"] or "奖项" in r.get_data(as_text=True)


def test_only_the_office_imports(intake: InProcess) -> None:
    r = intake.client.post("/api/award-history", headers=intake.auth("applicant", "a"),
                           data={"file": (io.BytesIO(_csv()), "h.csv")},
                           content_type="multipart/form-data")
    assert r.status_code == 403


def test_bans_are_enforced_from_imported_records_and_cite_them(intake: InProcess) -> None:
    cycle = _open_cycle(intake)
    winner, revoked, nominee, person = new_uscc(), new_uscc(), new_uscc(), new_id_number()
    data = _csv(f"{PROGRAMME},第五届（{THIS_YEAR - 2}）,,{winner},忻州市甲公司,获奖,,",
                f"{PROGRAMME},第二届（{THIS_YEAR - 8}）,,{revoked},忻州市乙公司,获奖,"
                f"{THIS_YEAR - 1}-03-01,弄虚作假",
                f"{PROGRAMME},第五届（{THIS_YEAR - 2}）,,{nominee},忻州市丙公司,提名,,",
                f"{PROGRAMME},第五届（{THIS_YEAR - 2}）,,{person},李四,获奖,,,个人")
    assert _send(intake, data, "commit").status_code == 200

    r = _apply(intake, cycle, credit_code=winner, name="winner")
    assert r.status_code == 422 and r.get_json()["code"] == "eligibility.winner_barred"
    cited = r.get_json()["errors"]["eligibility"][0]["zh-CN"]
    assert (f"该单位曾获第五届忻州市市长质量奖（{THIS_YEAR - 2} 年，历史记录导入：history.csv"
            in cited and "第 2 行" in cited), cited

    r = _apply(intake, cycle, credit_code=revoked, name="revoked")
    assert r.status_code == 422 and r.get_json()["code"] == "eligibility.revoked_barred"
    cited = r.get_json()["errors"]["eligibility"][0]["zh-CN"]
    assert f"{THIS_YEAR - 1}-03-01因“弄虚作假”被撤销" in cited and "第 3 行" in cited, cited

    r = _apply(intake, cycle, kind="individual", id_number=person, name="person")
    assert r.status_code == 422 and r.get_json()["code"] == "eligibility.winner_barred"
    assert "该申报人曾获第五届" in r.get_json()["errors"]["eligibility"][0]["zh-CN"]

    assert _apply(intake, cycle, credit_code=nominee, name="nominee").status_code == 201


def test_the_office_page_previews_errors_in_chinese_then_imports_what_it_checked(
        intake: InProcess) -> None:
    from intake.test_setup_pages import Office

    office = Office(intake)
    setup = office.get("/office/setup").get_data(as_text=True)
    assert 'href="/office/award-history"' in setup and "导入历史获奖记录" in setup
    page = office.get("/office/award-history")
    assert page.status_code == 200 and "<h1>历史获奖记录</h1>" in page.get_data(as_text=True)
    template = office.get("/office/award-history/template.csv")
    assert template.headers["Content-Type"].startswith("text/csv")
    assert template.data.decode("utf-8-sig") == HEADER.replace("\n", "\r\n")

    winner = new_uscc()
    bad = _csv(f"{PROGRAMME},第五届（{THIS_YEAR - 2}）,,{winner},忻州市甲公司,获奖,,",
               f"{PROGRAMME},第五届,,{winner[:-1]}{'X' if winner[-1] != 'X' else 'Y'},"
               "忻州市乙公司,优秀奖,,")
    r = office.client.post("/office/award-history", content_type="multipart/form-data",
                           data={"csrf_token": office.csrf,
                                 "file": (io.BytesIO(bad), "往届名单.csv")})
    html = r.get_data(as_text=True)
    assert r.status_code == 200, html[:2000]
    assert "[[untranslated" not in html
    assert "“往届名单.csv”的检查结果" in html and 'data-counts="1 0 0 1"' in html
    assert "等次「优秀奖」无法识别" in html and "没有年度" in html and "校验位" in html
    assert "确认导入以上记录" not in html and "须每一行都正确才能导入" in html

    good = _csv(f"{PROGRAMME},第五届（{THIS_YEAR - 2}）,,{winner},忻州市甲公司,获奖,,")
    r = office.client.post("/office/award-history", content_type="multipart/form-data",
                           data={"csrf_token": office.csrf,
                                 "file": (io.BytesIO(good), "往届名单.csv")})
    html = r.get_data(as_text=True)
    assert "确认导入以上记录" in html and _records(intake) == []
    sha = re.search(r'name="sha256" value="([0-9a-f]{64})"', html).group(1)
    r = office.post("/office/award-history/import", {"sha256": sha, "filename": "往届名单.csv"})
    assert r.status_code == 303, r.get_data(as_text=True)[:2000]
    assert len(_records(intake)) == 1 and _audits(intake) == 1
    listed = office.get("/office/award-history").get_data(as_text=True)
    assert "第五届忻州市市长质量奖" in listed and "忻州市甲公司" in listed
    assert "往届名单.csv" in listed and "[[untranslated" not in listed

    # The same file again: the check says nothing would change, and offers no import.
    r = office.client.post("/office/award-history", content_type="multipart/form-data",
                           data={"csrf_token": office.csrf,
                                 "file": (io.BytesIO(good), "往届名单.csv")})
    html = r.get_data(as_text=True)
    assert "各行均已导入" in html and "确认导入以上记录" not in html

    # A supervisor reads the page but has no upload form.
    reader = Office(intake, role="supervisor", subject="sup-1")
    html = reader.get("/office/award-history").get_data(as_text=True)
    assert "忻州市甲公司" in html and 'name="file"' not in html
