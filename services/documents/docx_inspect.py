"""Inspection of OOXML word files and of OLE containers (legacy .doc, encrypted Office files).

Every check that bounds work happens before any XML is parsed: the ZIP's entry count, declared
uncompressed size and compression ratio; then every XML part is refused if it declares a DOCTYPE
or entities; only then does python-docx open the file. Runs only inside the sandbox.
"""

from __future__ import annotations

import contextlib
import re
import zipfile
from pathlib import Path

from lxml import etree

from services.documents import textscan
from services.documents.limits import ZipLimits
from services.documents.paper import paper_name
from services.documents.safezip import (
    Refused,
    check_limits,
    has_directory_end,
    read_capped,
    refuse_entities,
    safe_parser,
)
from services.documents.verdict import PREVIEW_CHARACTERS, Verdict

WORD_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
WORD_TEMPLATE = "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml"
MACRO_MAIN = ("application/vnd.ms-word.document.macroEnabled.main+xml",
              "application/vnd.ms-word.template.macroEnabledTemplate.main+xml")
_NS = {"w": "http://schemas.openxmlformats.org/wordprocessingml/2006/main",
       "ep": "http://schemas.openxmlformats.org/officeDocument/2006/extended-properties",
       "ct": "http://schemas.openxmlformats.org/package/2006/content-types",
       "r": "http://schemas.openxmlformats.org/package/2006/relationships"}
_HEADING_STYLE = re.compile(r"^(?:heading|标题|title)\s*(\d?)$", re.IGNORECASE)


def inspect_ole(path: Path) -> Verdict:
    """An OLE compound file: an encrypted OOXML package, or a legacy binary .doc."""
    with path.open("rb") as fh:
        head = fh.read(1024 * 1024)
    # Directory entry names are UTF-16LE; reading the first MiB finds them in any real file.
    if "EncryptedPackage".encode("utf-16-le") in head:
        verdict = Verdict(format="docx", encrypted=True, opens_without_password=False,
                          reader="ole")
        return verdict.fail("inspect.encrypted")
    if "Macros".encode("utf-16-le") in head or "_VBA_PROJECT".encode("utf-16-le") in head:
        return Verdict(format="doc", reader="ole").fail("inspect.macros")
    if "WordDocument".encode("utf-16-le") in head:
        return Verdict(format="doc", reader="ole").fail("inspect.legacy_doc")
    return Verdict(format="ole", reader="ole").fail("inspect.unsupported_format")


def inspect_zip(path: Path, limits: ZipLimits) -> Verdict:
    verdict = Verdict(format="docx", reader="python-docx")
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        # A ZIP is read from its end (the central directory); an upload cut short loses it.
        return verdict.fail("inspect.corrupt" if has_directory_end(path)
                            else "inspect.truncated", str(exc))
    with zf:
        infos = zf.infolist()
        try:
            check_limits(infos, limits)
        except Refused as refused:
            return verdict.fail(refused.code, refused.detail)
        names = {i.filename: i for i in infos}
        if "[Content_Types].xml" not in names:
            verdict.format = "zip"
            return verdict.fail("inspect.unsupported_format", "a ZIP archive, not a document")
        try:
            refuse_entities(zf, infos, (".xml", ".rels"))
            types = etree.fromstring(read_capped(zf, names["[Content_Types].xml"]),
                                     safe_parser())
        except Refused as refused:
            return verdict.fail(refused.code, refused.detail)
        except (zipfile.BadZipFile, etree.XMLSyntaxError, OSError, EOFError) as exc:
            return verdict.fail("inspect.corrupt", str(exc))
        overrides = {o.get("PartName", "").lstrip("/"): o.get("ContentType", "")
                     for o in types.iterfind("ct:Override", _NS)}
        main_types = set(overrides.values())
        if main_types & set(MACRO_MAIN) or any(n.lower().endswith("vbaproject.bin")
                                               for n in names):
            verdict.format = "docm"
            return verdict.fail("inspect.macros")
        if not main_types & {WORD_MAIN, WORD_TEMPLATE}:
            verdict.format = "ooxml"
            return verdict.fail("inspect.unsupported_format", "not a Word document")
        verdict.embedded_files = sum(1 for n in names if n.startswith("word/embeddings/"))
        for name, info in names.items():
            if name.endswith(".rels"):
                rels = etree.fromstring(read_capped(zf, info), safe_parser())
                verdict.external_links += sum(
                    1 for r in rels.iterfind("r:Relationship", _NS)
                    if r.get("TargetMode") == "External")
        if "docProps/app.xml" in names:
            try:
                app = etree.fromstring(read_capped(zf, names["docProps/app.xml"]),
                                       safe_parser())
                pages = app.findtext("ep:Pages", namespaces=_NS)
                if pages and pages.strip().isdigit():
                    verdict.pages = int(pages)
                    verdict.warnings.append("docx.pages_from_properties")
            except etree.XMLSyntaxError:
                verdict.warnings.append("docx.properties_unreadable")
    return _read_document(path, verdict)


def _read_document(path: Path, verdict: Verdict) -> Verdict:
    import docx  # imported here: only the sandbox child pays for it

    try:
        document = docx.Document(str(path))
    except Exception as exc:  # python-docx raises many types on malformed parts
        return verdict.fail("inspect.corrupt", f"{type(exc).__name__}: {exc}")
    characters = words = shown = 0
    texts: list[str] = []
    for paragraph in document.paragraphs:
        text = paragraph.text
        c, w = textscan.count(text)
        characters += c
        words += w
        level = _heading_level(paragraph)
        if level is not None and text.strip() and len(verdict.headings) < textscan.MAX_HEADINGS:
            verdict.headings.append({"text": text.strip()[:200], "level": level, "page": None})
        if len(texts) < 2000:
            texts.append(text)
        if text.strip() and shown < PREVIEW_CHARACTERS:
            verdict.preview.append(text[:PREVIEW_CHARACTERS - shown])
            shown += len(verdict.preview[-1])
    for table in document.tables:
        for row in table.rows:
            for cell in row.cells:
                c, w = textscan.count(cell.text)
                characters += c
                words += w
    verdict.characters, verdict.words = characters, words
    verdict.text_complete = True
    verdict.text_scope = "full"
    verdict.text_layer = characters > 0
    verdict.scanned = characters == 0 and bool(document.inline_shapes)
    verdict.scanned_pages = 0
    verdict.classification_marks = [
        {"mark": m, "page": None} for m in textscan.classification_marks("\n".join(texts))]
    with contextlib.suppress(Exception):
        section = document.sections[0]
        if section.page_width and section.page_height:
            width = section.page_width / 36000  # EMU → mm (`w` above counts words)
            height = section.page_height / 36000
            verdict.page_size = {"width_mm": round(width, 1), "height_mm": round(height, 1),
                                 "name": paper_name(width, height)}
            verdict.mixed_page_sizes = len({(round(s.page_width or 0), round(
                s.page_height or 0)) for s in document.sections}) > 1
    return verdict


def _heading_level(paragraph: object) -> int | None:
    style = getattr(paragraph, "style", None)
    name = (getattr(style, "name", "") or "").strip()
    match = _HEADING_STYLE.match(name)
    if match:
        return int(match.group(1) or 1)
    # Outline level set directly on the paragraph (Chinese templates often do this).
    ppr = paragraph._p.pPr  # type: ignore[attr-defined]
    if ppr is not None:
        level = ppr.find(f"{{{_NS['w']}}}outlineLvl")
        if level is not None:
            value = level.get(f"{{{_NS['w']}}}val", "9")
            if value.isdigit() and int(value) < 9:
                return int(value) + 1
    return None

