"""Past awards, nominations and revocations the office imports, so the bans (Art. 11 and 26)
also know outcomes decided before this installation kept records.

One use case for the API and the page: `import_history` reads a CSV or XLSX file, checks every
row (check characters, duplicates in the file and against stored records, unknown programmes,
dates), and either previews what would change or commits all of it in one transaction, audited.
A record's natural key is (programme, cycle year, credit code or identity number's blind index):
importing the same file again finds every row unchanged and writes nothing.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.intake.identifiers import (
    is_valid_id_number,
    is_valid_uscc,
    normalise_id_number,
    normalise_uscc,
)
from services.intake.models import AwardRecord
from services.intake.units import UnitList
from shared.audit import AuditLog
from shared.auth import Principal
from shared.errors import DossierError

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 5000
# An XLSX is a ZIP: refuse one that would inflate past this before openpyxl opens it.
MAX_XLSX_INFLATED = 50 * 1024 * 1024
HISTORY_PREFIX = "history:"

# Column → the headings accepted for it (the office's Chinese template first).
COLUMNS: dict[str, tuple[str, ...]] = {
    "programme": ("奖项", "评选项目", "programme"),
    "cycle": ("届次", "cycle"),
    "year": ("年度", "年份", "year"),
    "identifier": ("统一社会信用代码或身份证号", "统一社会信用代码", "身份证号", "证件号码",
                   "identifier", "credit code or identity number"),
    "name": ("名称", "单位名称或姓名", "单位名称", "姓名", "name"),
    "tier": ("等次", "类别", "tier"),
    "revoked_on": ("撤销日期", "revoked_on", "revocation date"),
    "ground": ("撤销理由", "撤销原因", "ground", "revocation ground"),
    "kind": ("类型", "单位或个人", "kind"),
}
REQUIRED = ("programme", "cycle", "identifier", "name", "tier")
TIERS = {"获奖": "award", "奖": "award", "award": "award", "提名": "nomination",
         "提名奖": "nomination", "nomination": "nomination"}
KINDS = {"单位": "organisation", "组织": "organisation", "企业": "organisation",
         "organisation": "organisation", "个人": "individual", "individual": "individual"}
_ORDINAL = re.compile(r"第[〇零一二三四五六七八九十百\d]+届")
_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})(?!\d)")


@dataclass
class RowReport:
    line: int  # the row's number in the file as a spreadsheet shows it (heading = 1)
    values: dict[str, str]
    status: str = "new"  # new | updated | unchanged | invalid
    errors: list[dict[str, str]] = field(default_factory=list)  # {"zh-CN": …, "en": …}
    changes: list[dict[str, str]] = field(default_factory=list)  # of an `updated` row, ditto
    record: dict[str, Any] = field(default_factory=dict)

    def fail(self, zh: str, en: str) -> None:
        self.status = "invalid"
        self.errors.append({"zh-CN": zh, "en": en})


@dataclass
class ImportReport:
    filename: str
    sha256: str
    rows: list[RowReport]
    committed: bool = False

    @property
    def counts(self) -> dict[str, int]:
        out = {"new": 0, "updated": 0, "unchanged": 0, "invalid": 0}
        for row in self.rows:
            out[row.status] += 1
        return out

    @property
    def valid(self) -> bool:
        return bool(self.rows) and not self.counts["invalid"]

    def as_dict(self) -> dict[str, Any]:
        return {"filename": self.filename, "sha256": self.sha256, "committed": self.committed,
                "counts": self.counts,
                "rows": [{"line": r.line, "status": r.status, "errors": r.errors,
                          "changes": r.changes, "values": r.values} for r in self.rows]}


def _file_error(zh: str, en: str, **params: Any) -> DossierError:
    return DossierError("award_history.file_unreadable", status=422, zh=zh, en=en, **params)


# -- reading the file -------------------------------------------------------------------------

def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a year typed into a number cell
    return str(value).strip()


def _csv_rows(data: bytes) -> list[list[str]]:
    for encoding in ("utf-8-sig", "gb18030"):  # Excel in China saves CSV as GBK by default
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise _file_error("文件不是 UTF-8 或 GBK 编码的 CSV。",
                          "The file is not a CSV in UTF-8 or GBK.")
    return [[c.strip() for c in row] for row in csv.reader(io.StringIO(text))]


def _xlsx_rows(data: bytes) -> list[list[str]]:
    from openpyxl import load_workbook  # only the import needs it

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            if len(infos) > 1000 or sum(i.file_size for i in infos) > MAX_XLSX_INFLATED:
                raise _file_error("表格文件解压后过大，请另存为 CSV 后再导入。",
                                  "The spreadsheet is too large once unpacked; save it as CSV.")
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise _file_error("无法读取该 Excel 文件（应为 .xlsx 格式）。",
                          "The Excel file cannot be read (it must be .xlsx).") from exc
    try:
        sheet = book.worksheets[0]
        return [[_cell(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        book.close()


def read_table(filename: str, data: bytes) -> list[list[str]]:
    """The file's rows as text cells: XLSX by its ZIP signature, anything else as CSV."""
    if not data:
        raise _file_error("文件为空。", "The file is empty.")
    if len(data) > MAX_BYTES:
        raise _file_error("文件超过 5 MB，请分批导入。",
                          "The file is larger than 5 MB; import it in parts.")
    rows = _xlsx_rows(data) if data[:4] == b"PK\x03\x04" else _csv_rows(data)
    return [r for r in rows if any(c for c in r)]


def _header_map(header: list[str]) -> dict[str, int]:
    wanted = {alias.lower(): key for key, aliases in COLUMNS.items() for alias in aliases}
    found: dict[str, int] = {}
    for i, heading in enumerate(header):
        key = wanted.get(heading.strip().lower())
        if key and key not in found:
            found[key] = i
    missing = [COLUMNS[k][0] for k in REQUIRED if k not in found]
    if missing:
        raise _file_error("首行缺少以下列：{columns}。请使用导入模板的列名。",
                          "The first row lacks these columns: {columns}. Use the template's "
                          "headings.", columns="、".join(missing))
    return found


def template_csv() -> str:
    """The import's headings only: an example row left in by mistake would import a fake
    award, so the formats are explained on the page instead."""
    out = io.StringIO()
    csv.writer(out).writerow([aliases[0] for aliases in COLUMNS.values()])
    return out.getvalue()


# -- checking one row -------------------------------------------------------------------------

def _programme_of(value: str, units: UnitList) -> str | None:
    names = {units.programme, units.programme_name, units.programme_name_en}
    return units.programme if value in {n for n in names if n} else None


def _cycle_year(row: RowReport) -> tuple[int | None, str | None]:
    text, year_text = row.values["cycle"], row.values["year"]
    ordinal = _ORDINAL.search(text)
    years = {int(m) for m in _YEAR.findall(f"{text} {year_text}")}
    if year_text and not _YEAR.fullmatch(year_text.replace("年", "")):
        row.fail(f"年度「{year_text}」不是四位年份。", f"The year “{year_text}” is not a year.")
        return None, None
    if len(years) > 1:
        row.fail(f"届次「{text}」与年度「{year_text}」不一致。",
                 f"The cycle “{text}” and the year “{year_text}” disagree.")
        return None, None
    if not years:
        row.fail(f"届次「{text}」没有年度：请写作“第二届（2023）”，或填写“年度”列。",
                 f"The cycle “{text}” names no year: write “第二届（2023）” or fill in the "
                 "year column.")
        return None, None
    return years.pop(), ordinal.group(0) if ordinal else None


def _subject(row: RowReport, blind_index: Callable[[str], str]) -> tuple[str, str] | None:
    """(kind, key): an organisation by its credit code, a person by the identity number's
    blind index (the number itself is never stored)."""
    raw, said = row.values["identifier"], row.values["kind"]
    kind = KINDS.get(said.lower()) if said else None
    if said and kind is None:
        row.fail(f"类型「{said}」无法识别，应为“单位”或“个人”。",
                 f"The kind “{said}” is neither “organisation” nor “individual”.")
        return None
    as_org, as_person = is_valid_uscc(raw), is_valid_id_number(raw)
    if as_org and as_person and kind is None:
        # An all-digit identity number passes GB 32100's check about once in 31: a person must
        # never be stored under a credit code (in clear), so the file has to say which it is.
        row.fail(f"「{raw}」既符合统一社会信用代码也符合身份证号码的校验规则，"
                 "请在“类型”列填写“单位”或“个人”。",
                 f"“{raw}” passes the checks of both a credit code and an identity number; "
                 "fill in the kind column (单位 or 个人).")
        return None
    if as_org and kind != "individual":
        return "organisation", normalise_uscc(raw)
    if as_person and kind != "organisation":
        return "individual", blind_index(normalise_id_number(raw))
    if kind == "organisation":
        row.fail(f"「{raw}」不是有效的统一社会信用代码（位数、格式或校验位不符）。",
                 f"“{raw}” is not a valid unified social credit code (length, format or "
                 "check character).")
        return None
    if kind == "individual":
        row.fail(f"「{raw}」不是有效的居民身份证号码（位数、出生日期或校验位不符）。",
                 f"“{raw}” is not a valid identity number (length, birth date or check "
                 "character).")
        return None
    row.fail(f"「{raw}」既不是有效的统一社会信用代码，也不是有效的居民身份证号码"
             "（位数、格式或校验位不符）。",
             f"“{raw}” is neither a valid unified social credit code nor a valid identity "
             "number (length, format or check character).")
    return None


def _revocation(row: RowReport, year: int | None, tier: str | None, today: date
                ) -> date | None:
    text, ground = row.values["revoked_on"], row.values["ground"]
    if not text and not ground:
        return None
    if not text or not ground:
        row.fail("撤销须同时填写撤销日期和撤销理由。",
                 "A revocation needs both its date and its ground.")
        return None
    try:
        revoked = date.fromisoformat(text.replace("/", "-").replace(".", "-"))
    except ValueError:
        row.fail(f"撤销日期「{text}」不是有效日期（应写作 2024-05-01）。",
                 f"The revocation date “{text}” is not a valid date (write 2024-05-01).")
        return None
    if tier == "nomination":
        row.fail("提名不能撤销：只有获奖记录可以填写撤销日期。",
                 "A nomination cannot be revoked: only an award takes a revocation date.")
    if revoked > today:
        row.fail(f"撤销日期 {revoked.isoformat()} 晚于今天。",
                 f"The revocation date {revoked.isoformat()} is in the future.")
    elif year is not None and revoked.year < year:
        row.fail(f"撤销日期 {revoked.isoformat()} 早于获奖年度 {year} 年。",
                 f"The revocation date {revoked.isoformat()} is before the award's year {year}.")
    return revoked


def _check_row(row: RowReport, units: UnitList, blind_index: Callable[[str], str],
               today: date) -> None:
    for key in REQUIRED:
        if not row.values[key]:
            row.fail(f"请填写“{COLUMNS[key][0]}”。", f"“{COLUMNS[key][-1]}” is required.")
    if row.errors:
        return
    programme = _programme_of(row.values["programme"], units)
    if programme is None:
        known = units.programme_name or units.programme
        row.fail(f"未知的奖项「{row.values['programme']}」：本系统评选的是“{known}”。",
                 f"Unknown programme “{row.values['programme']}”: this installation runs "
                 f"“{units.programme_name_en or units.programme}”.")
    year, ordinal = _cycle_year(row)
    if year is not None and year > today.year:
        row.fail(f"年度 {year} 年尚未到来。", f"The year {year} is still to come.")
    tier = TIERS.get(row.values["tier"].lower())
    if tier is None:
        row.fail(f"等次「{row.values['tier']}」无法识别，应为“获奖”或“提名”。",
                 f"The tier “{row.values['tier']}” is neither “award” nor “nomination”.")
    subject = _subject(row, blind_index)
    revoked = _revocation(row, year, tier, today)
    if row.errors or subject is None or year is None:
        return
    kind, key = subject
    title = f"{ordinal or f'{year} 年'}{units.programme_name or units.programme}"
    row.record = {"programme": programme, "year": year, "kind": kind, "key": key,
                  "name": row.values["name"], "tier": tier, "cycle_title": title,
                  "revoked_on": revoked, "ground": row.values["ground"] or None}


# -- against what is stored -------------------------------------------------------------------

def natural_id(programme: str, year: int, key: str) -> str:
    digest = hashlib.sha256(f"{programme}|{year}|{key}".encode()).hexdigest()[:27]
    return f"{HISTORY_PREFIX}{digest}"


def _stored(session: Session, rec: dict[str, Any]) -> list[AwardRecord]:
    column = AwardRecord.credit_code if rec["kind"] == "organisation" else AwardRecord.id_index
    return list(session.execute(select(AwardRecord).where(
        column == rec["key"], AwardRecord.year == rec["year"],
        AwardRecord.programme == rec["programme"])).scalars())


# What an `updated` row changes, named for the person who confirms it: a file that drops a
# revocation would lift a ban, so the preview says so before anything is written.
_FIELDS = (("name", "名称", "name"), ("tier", "等次", "tier"), ("cycle_title", "届次", "cycle"),
           ("revoked_on", "撤销日期", "revocation date"), ("ground", "撤销理由", "ground"))
_SHOWN = {"award": ("获奖", "award"), "nomination": ("提名", "nomination")}


def _shown(value: Any, lang: int) -> str:
    if value is None or value == "":
        return ("（空）", "(empty)")[lang]
    if isinstance(value, date):
        return value.isoformat()
    return _SHOWN[value][lang] if value in _SHOWN else str(value)


def _changes(row: AwardRecord, rec: dict[str, Any]) -> list[dict[str, str]]:
    out = []
    for name, zh, en in _FIELDS:
        old, new = getattr(row, name), rec[name]
        if old != new:
            out.append({"zh-CN": f"{zh}：{_shown(old, 0)} → {_shown(new, 0)}",
                        "en": f"{en}: {_shown(old, 1)} → {_shown(new, 1)}"})
    return out


def _compare(session: Session, rows: list[RowReport]) -> None:
    seen: dict[tuple[str, int, str], int] = {}
    for row in rows:
        rec = row.record
        if row.status == "invalid":
            continue
        natural = (rec["programme"], rec["year"], rec["key"])
        if natural in seen:
            row.fail(f"与第 {seen[natural]} 行重复（同一奖项、同一年度、同一单位或个人）。",
                     f"Duplicates row {seen[natural]} (same programme, year and holder).")
            continue
        seen[natural] = row.line
        stored = _stored(session, rec)
        decided = [r for r in stored if not r.application_id.startswith(HISTORY_PREFIX)]
        if decided:
            row.fail(f"本系统已有 {rec['year']} 年对该单位或个人的评审结果，不能再导入；"
                     "本系统评出的奖项如需撤销，请在“评选结果与证书”中办理。",
                     f"This installation already holds the {rec['year']} result for this "
                     "holder; it cannot be imported (revoke an award decided here on "
                     "“Decision and certificates”).")
        elif stored:
            row.changes = _changes(stored[0], rec)
            row.status = "updated" if row.changes else "unchanged"


# -- the use case -----------------------------------------------------------------------------

@dataclass(frozen=True)
class ParsedFile:
    filename: str
    sha256: str
    table: list[list[str]]


def parse(filename: str, data: bytes) -> ParsedFile:
    """Read the file before any transaction opens (an XLSX takes a while to unpack)."""
    return ParsedFile(filename=filename, sha256=hashlib.sha256(data).hexdigest(),
                      table=read_table(filename, data))


def check_file(session: Session, units: UnitList, blind_index: Callable[[str], str],
               parsed: ParsedFile, today: date) -> ImportReport:
    """Every row checked against the file and the stored records; nothing written."""
    table = parsed.table
    if len(table) < 2:
        raise _file_error("文件中没有数据行。", "The file has no data rows.")
    if len(table) - 1 > MAX_ROWS:
        raise _file_error("文件超过 {limit} 行，请分批导入。",
                          "The file has more than {limit} rows; import it in parts.",
                          limit=MAX_ROWS)
    columns = _header_map(table[0])
    rows = []
    for number, cells in enumerate(table[1:], start=2):
        values = {k: (cells[i].strip() if i < len(cells) else "")
                  for k, i in columns.items()}
        values.update({k: "" for k in COLUMNS if k not in values})
        row = RowReport(line=number, values=values)
        _check_row(row, units, blind_index, today)
        rows.append(row)
    _compare(session, rows)
    return ImportReport(filename=parsed.filename, sha256=parsed.sha256, rows=rows)


def _write(session: Session, row: RowReport, source: str, at: datetime) -> None:
    rec = row.record
    app_id = natural_id(rec["programme"], rec["year"], rec["key"])
    found = session.execute(select(AwardRecord).where(
        AwardRecord.application_id == app_id)).scalar_one_or_none()
    if found is None:
        found = AwardRecord(cycle=f"history-{rec['year']}", application_id=app_id,
                            programme=rec["programme"], year=rec["year"], owner="",
                            kind=rec["kind"])
        session.add(found)
    found.credit_code = rec["key"] if rec["kind"] == "organisation" else None
    found.id_index = rec["key"] if rec["kind"] == "individual" else None
    found.name, found.tier, found.cycle_title = rec["name"], rec["tier"], rec["cycle_title"]
    found.revoked_on, found.ground = rec["revoked_on"], rec["ground"]
    found.revoked_year = rec["revoked_on"].year if rec["revoked_on"] else None
    found.source = f"{source} 第 {row.line} 行"[:300]
    found.imported_at = at


def import_history(session: Session, audit: AuditLog, who: Principal, units: UnitList,
                   blind_index: Callable[[str], str], parsed: ParsedFile, today: date, *,
                   commit: bool) -> ImportReport:
    """Preview (`commit=False`) or commit the file: all rows or none, one audit record."""
    report = check_file(session, units, blind_index, parsed, today)
    if not commit:
        return report
    if not report.valid:
        raise DossierError(
            "award_history.invalid", status=422,
            zh="有 {count} 行有误，未导入任何记录。请修改文件后重新导入。",
            en="{count} rows have errors; nothing was imported. Correct the file and import "
               "it again.", count=report.counts["invalid"],
            errors={"rows": [{"line": r.line, "errors": r.errors}
                             for r in report.rows if r.errors]})
    changed = [r for r in report.rows if r.status in ("new", "updated")]
    if changed:  # the same file again writes nothing and records nothing
        at = datetime.now(UTC)
        source = f"{parsed.filename}（{today.isoformat()} 导入）"
        for row in changed:
            _write(session, row, source, at)
        session.flush()
        audit.append(session, actor=who.subject, role=who.role,
                     action="award_history.imported", target=f"award-history:{report.sha256[:16]}",
                     detail={"filename": parsed.filename, "sha256": report.sha256,
                             **report.counts})
    report.committed = True
    return report
