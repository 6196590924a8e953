"""Inspection of OFD files (GB/T 33190: China's format for electronic licences, invoices and
official documents): a ZIP of XML parts.

Hardened like DOCX (`safezip`): the archive's limits are checked from its central directory
before anything is inflated, every XML part declaring a DOCTYPE or entities is refused, and the
parser resolves nothing. Then: `OFD.xml` names the document (`DocRoot`) and its signatures;
`Document.xml` lists the pages (`Pages/Page@BaseLoc`) and their size (`PhysicalBox`, already in
millimetres); each page's `Content.xml` holds the text (`TextObject/TextCode`). Signatures are
checked as far as we can (`ofd_signatures`). Runs only inside the sandbox.
"""

from __future__ import annotations

import posixpath
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
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

# The text a sample reads (as for PDF: enough for a text layer and a first-page mark).
SAMPLE_PAGES = 2


def is_ofd(names: list[str]) -> bool:
    """An OFD package names its entry file `OFD.xml` at the root."""
    return any(n.lower() == "ofd.xml" for n in names)


def zip_names(path: Path) -> list[str]:
    """The entry names of a ZIP ([] when it is no readable ZIP: the DOCX path says why)."""
    try:
        with zipfile.ZipFile(path) as zf:
            return zf.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return []


def local(element: etree._Element) -> str:
    """The element's name without its namespace (writers differ in prefixes and namespaces)."""
    tag = element.tag
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def children(element: etree._Element, name: str) -> Iterator[etree._Element]:
    return (c for c in element if local(c) == name)


def first(element: etree._Element, *path: str) -> etree._Element | None:
    """The first descendant along `path` of local names, or None."""
    found: etree._Element | None = element
    for name in path:
        found = next(children(found, name), None) if found is not None else None
    return found


def text_of(element: etree._Element, *path: str) -> str | None:
    found = first(element, *path)
    return (found.text or "").strip() or None if found is not None else None


def resolve(location: str, base_dir: str) -> str:
    """An OFD location: absolute from the package root when it starts with '/', else relative
    to the directory of the part that names it."""
    location = location.strip().replace("\\", "/")
    joined = location.lstrip("/") if location.startswith("/") else \
        posixpath.join(base_dir, location)
    return posixpath.normpath(joined).lstrip("/")


@dataclass
class Package:
    """An opened, checked OFD archive: parts are read (capped) and parsed on demand."""

    zf: zipfile.ZipFile
    names: dict[str, zipfile.ZipInfo] = field(default_factory=dict)

    def raw(self, name: str) -> bytes | None:
        info = self.names.get(name) or self.names.get(name.lower())
        return read_capped(self.zf, info) if info is not None else None

    def xml(self, name: str) -> etree._Element | None:
        data = self.raw(name)
        return etree.fromstring(data, safe_parser()) if data is not None else None


@dataclass(frozen=True)
class Page:
    number: int
    id: str | None
    content: str | None  # the part holding the page's content


def inspect_ofd(path: Path, limits: ZipLimits, text: str = "full") -> Verdict:
    verdict = Verdict(format="ofd", reader="ofd")
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        return verdict.fail("inspect.corrupt" if has_directory_end(path)
                            else "inspect.truncated", str(exc))
    with zf:
        infos = zf.infolist()
        try:
            check_limits(infos, limits)
            refuse_entities(zf, infos, (".xml",))
            package = Package(zf, {i.filename: i for i in infos} |
                              {i.filename.lower(): i for i in infos})
            return _read(package, verdict, text)
        except Refused as refused:
            return verdict.fail(refused.code, refused.detail)
        except (zipfile.BadZipFile, etree.XMLSyntaxError, OSError, EOFError, ValueError) as exc:
            return verdict.fail("inspect.corrupt", f"{type(exc).__name__}: {exc}")


def _read(package: Package, verdict: Verdict, text: str) -> Verdict:
    root = package.xml("OFD.xml")
    bodies = list(children(root, "DocBody")) if root is not None else []
    doc_root = text_of(bodies[0], "DocRoot") if bodies else None
    if not doc_root:
        return verdict.fail("inspect.corrupt", "OFD.xml names no DocRoot")
    if len(bodies) > 1:
        verdict.warnings.append("ofd.several_documents")  # the first is the one read
    document_name = resolve(doc_root, "")
    document = package.xml(document_name)
    if document is None:
        return verdict.fail("inspect.corrupt", f"no {document_name}")
    pages = _pages(document, posixpath.dirname(document_name))
    verdict.pages = len(pages)
    _page_size(document, verdict)
    _text(package, pages, _templates(document, posixpath.dirname(document_name)), verdict, text)
    signatures_name = text_of(bodies[0], "Signatures")
    if signatures_name:
        from services.documents.ofd_signatures import read_signatures

        verdict.signatures = read_signatures(package, resolve(signatures_name, ""),
                                             {p.id: p.number for p in pages if p.id})
    return verdict


def _pages(document: etree._Element, base_dir: str) -> list[Page]:
    listed = first(document, "Pages")
    found: list[Page] = []
    for number, page in enumerate(children(listed, "Page") if listed is not None else [], 1):
        location = page.get("BaseLoc")
        found.append(Page(number, page.get("ID"),
                          resolve(location, base_dir) if location else None))
    return found


def _templates(document: etree._Element, base_dir: str) -> dict[str, str]:
    """Template page id → its part: the fixed text many pages share (an invoice's labels)."""
    common = first(document, "CommonData")
    return {t.get("ID", ""): resolve(t.get("BaseLoc", ""), base_dir)
            for t in (children(common, "TemplatePage") if common is not None else [])
            if t.get("ID") and t.get("BaseLoc")}


def _page_size(document: etree._Element, verdict: Verdict) -> None:
    box = text_of(document, "CommonData", "PageArea", "PhysicalBox")
    try:
        _, _, width, height = (float(v) for v in (box or "").split())
    except ValueError:
        return
    # OFD's unit is the millimetre.
    verdict.page_size = {"width_mm": round(width, 1), "height_mm": round(height, 1),
                         "name": paper_name(width, height)}


def _page_text(content: etree._Element) -> tuple[str, bool]:
    """The page's text in reading order of its TextObjects, and whether it draws an image."""
    lines: list[str] = []
    image = False
    for element in content.iter():
        name = local(element)
        if name == "TextObject":
            codes = [c.text or "" for c in element.iter() if local(c) == "TextCode"]
            lines.append("".join(codes))
        elif name == "ImageObject":
            image = True
    return "\n".join(lines), image


def _full_text(package: Package, content: etree._Element, templates: dict[str, str]
               ) -> tuple[str, bool]:
    """The page's text after the text of the templates it draws on, and whether it has an
    image (a template's images count: a scan is often laid down as the template)."""
    parts: list[tuple[str, bool]] = []
    for template in children(content, "Template"):
        part = templates.get(template.get("TemplateID", ""))
        found = package.xml(part) if part else None
        if found is not None:
            parts.append(_page_text(found))
    parts.append(_page_text(content))
    return "\n".join(t for t, _ in parts if t), any(image for _, image in parts)


def _text(package: Package, pages: list[Page], templates: dict[str, str], verdict: Verdict,
          text: str) -> None:
    if text == "none":
        return
    limit = len(pages) if text == "full" else SAMPLE_PAGES
    characters = words = shown = scanned = 0
    for page in pages[:limit]:
        content = package.xml(page.content) if page.content else None
        if content is None:
            verdict.warnings.append("ofd.page_missing")
            continue
        page_text, image = _full_text(package, content, templates)
        c, w = textscan.count(page_text)
        characters += c
        words += w
        scanned += int(c == 0 and image)
        for heading in textscan.headings_in(page_text, page.number):
            if len(verdict.headings) < textscan.MAX_HEADINGS:
                verdict.headings.append(heading)
        for mark in textscan.classification_marks(page_text):
            verdict.classification_marks.append({"mark": mark, "page": page.number})
        # The viewer shows this text where it cannot draw the pages.
        for line in page_text.splitlines():
            if line.strip() and shown < PREVIEW_CHARACTERS:
                verdict.preview.append(line[:PREVIEW_CHARACTERS - shown])
                shown += len(verdict.preview[-1])
    full = limit >= len(pages)
    verdict.text_scope = "full" if full else "sample"
    verdict.text_complete = full
    verdict.characters, verdict.words = (characters, words) if full else (None, None)
    verdict.text_layer = characters > 0
    verdict.scanned_pages = scanned if full else None
    verdict.scanned = bool(pages) and full and scanned == len(pages)
