"""Opening an uploaded ZIP of XML parts (DOCX, OFD) without letting it cost more than its limits.

Every check that bounds work happens before any part is inflated: the entry count, declared
uncompressed size and compression ratio from the central directory; then every XML part is
refused if it declares a DOCTYPE or entities (XXE, entity expansion); and the parser that reads
the parts afterwards resolves nothing. Runs only inside the sandbox.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable
from pathlib import Path

from lxml import etree

from services.documents.limits import ZipLimits

_DOCTYPE = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


class Refused(Exception):
    """The archive breaks a limit or declares entities: `code` is the verdict's code."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


def safe_parser() -> etree.XMLParser:
    """Entities never resolved, no DTD, no network, no huge trees."""
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           dtd_validation=False, huge_tree=False, remove_comments=True)


def _xml_bytes(data: bytes) -> bytes:
    """The part as UTF-8 bytes for the DOCTYPE scan (XML allows UTF-16 parts)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace").encode("utf-8")
    return data


def has_directory_end(path: Path) -> bool:
    """Whether the file still has its ZIP end record (an upload cut short loses it)."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        fh.seek(max(0, size - 65_557))  # the end record plus the longest comment
        return b"PK\x05\x06" in fh.read()


def read_capped(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    # zipfile stops at the declared size and then fails the CRC, so a header that lies about
    # the size cannot make this read more than `check_limits` allowed.
    with zf.open(info) as fh:
        return fh.read(info.file_size + 1)


def check_limits(infos: list[zipfile.ZipInfo], limits: ZipLimits) -> None:
    """Refuses (`inspect.zip_bomb`) from the central directory alone, before any inflation."""
    if len(infos) > limits.max_entries:
        raise Refused("inspect.zip_bomb", f"{len(infos)} entries")
    total = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos)
    if total > limits.max_total_bytes:
        raise Refused("inspect.zip_bomb", f"{total} bytes uncompressed")
    for info in infos:
        # Small parts compress well legitimately; judge the ratio only where it matters.
        if info.file_size > 1024 * 1024 and \
                info.file_size > limits.max_ratio * max(info.compress_size, 1):
            raise Refused("inspect.zip_bomb", f"{info.filename} ratio")
    if total > 16 * 1024 * 1024 and total > limits.max_ratio * max(packed, 1):
        raise Refused("inspect.zip_bomb", "archive ratio")


def refuse_entities(zf: zipfile.ZipFile, infos: Iterable[zipfile.ZipInfo],
                    suffixes: tuple[str, ...]) -> None:
    """Refuses (`inspect.xml_entities`) any part ending in `suffixes` that declares a DOCTYPE."""
    for info in infos:
        if info.filename.lower().endswith(suffixes) and \
                _DOCTYPE.search(_xml_bytes(read_capped(zf, info))):
            raise Refused("inspect.xml_entities", info.filename)
