"""Text of CSV files people upload or hand to the command line."""

from __future__ import annotations

from shared.errors import DossierError


def decode_csv(raw: bytes, charset: str | None = None) -> str:
    """The text of an uploaded CSV. Excel on Chinese Windows saves CSV in GBK, not UTF-8, and
    a lenient UTF-8 decode would store every name as mojibake; so: the declared charset, else
    UTF-8 (with or without BOM), else GB18030 (a superset of GBK), else a clear refusal."""
    candidates = [charset] if charset else []
    candidates += ["utf-8-sig", "gb18030"]
    for encoding in candidates:
        try:
            return raw.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
    raise DossierError("expert.csv_encoding", status=422,
                       zh="无法识别 CSV 文件的编码，请另存为 UTF-8 或 GBK 编码。",
                       en="The CSV file's encoding is not recognised; save it as UTF-8 or GBK.")
