"""Names that leave the system as file names: download headers and ZIP entries.

An uploaded name is kept exactly as the applicant gave it (intake shows it back), but it must not
reach a `Content-Disposition` header or a ZIP entry as it is: a U+202E RIGHT-TO-LEFT OVERRIDE
makes "报告\u202Efdp.exe" display as "报告exe.pdf", control characters break headers and
terminals, and `/`, `..` or a drive letter in an entry name write outside the folder it is
unpacked into. Chinese (and every other letter) is kept.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

MAX_NAME = 150  # characters; long enough for real names, short enough for every file system
# Reserved on Windows or meaningful in paths and headers.
_RESERVED = re.compile(r'[\\/:*?"<>|]')
# Cc: C0/C1 controls. Zl/Zp: line and paragraph separators (a new line to a header parser).
_BREAKING = frozenset({"Cc", "Zl", "Zp"})
# Cf: format characters, which show nothing themselves: the bidi embeddings, overrides and
# isolates (U+202A–U+202E, U+2066–U+2069), the LRM/RLM/ALM marks, zero-width spaces and
# joiners, the BOM. Dropped rather than replaced, so no visible trace is left to misread.
_INVISIBLE = frozenset({"Cf"})


def safe_filename(text: str, fallback: str = "document") -> str:
    """`text` fit to name a downloaded file or one ZIP path segment."""
    kept = []
    for char in unicodedata.normalize("NFC", text):
        category = unicodedata.category(char)
        if category in _INVISIBLE:
            continue
        kept.append("_" if category in _BREAKING else char)
    cleaned = _RESERVED.sub("_", "".join(kept)).strip(" .")
    return cleaned[:MAX_NAME].strip(" .") or fallback


def zip_entry_name(path: str) -> str:
    """A ZIP entry path: every segment made safe, no absolute path, no `..`."""
    segments = [safe_filename(part, "") for part in path.replace("\\", "/").split("/")]
    return "/".join(s for s in segments if s) or "file"


def content_disposition(filename: str, disposition: str = "attachment") -> str:
    """The header value for a download named `filename`: RFC 6266 with an RFC 5987 `filename*`
    (UTF-8, every byte outside attr-char percent-encoded) and a plain ASCII `filename` for
    clients that know only that."""
    name = safe_filename(filename)
    ascii_name = name.encode("ascii", "replace").decode("ascii").replace("?", "_")
    return (f"{disposition}; filename=\"{ascii_name}\"; "
            f"filename*=UTF-8''{quote(name, safe='')}")
