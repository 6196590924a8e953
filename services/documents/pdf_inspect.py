"""Inspection of a PDF: qpdf (pikepdf) reads the structure, pypdf reads the text.

qpdf is the primary structural reader: it is fuzzed continuously, repairs damaged cross-reference
tables, counts the real leaves of the page tree (not the /Count a file claims) and is about ten
times faster than pypdf at it. pypdf extracts text and is the fallback reader when qpdf cannot
open a file at all. Runs only inside the sandbox (`sandbox_child`).
"""

from __future__ import annotations

import contextlib
import re
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pikepdf
from pypdf import PdfReader
from pypdf.errors import FileNotDecryptedError, PdfReadError

from services.documents import textscan
from services.documents.paper import paper_name
from services.documents.verdict import Verdict

# Pages whose text a sample covers: enough to see a text layer and the classification mark that
# GB/T 9704 puts on the first page.
SAMPLE_PAGES = 2
MAX_TEXT_PAGES = 5000
MAX_DETAIL_PAGES = 20000
MAX_OUTLINE_ITEMS = 500
_PT_PER_MM = 72 / 25.4
def _tail_has_eof(path: Path) -> bool:
    size = path.stat().st_size
    with path.open("rb") as fh:
        fh.seek(max(0, size - 2048))
        return b"%%EOF" in fh.read()


def _inherited(page: pikepdf.Dictionary, key: str) -> Any:
    node: Any = page
    for _ in range(64):  # bounded: a /Parent loop must not spin
        if node is None:
            return None
        value = node.get(key)
        if value is not None:
            return value
        node = node.get("/Parent")
    return None


def _has_images(resources: Any, depth: int = 0) -> bool:
    xobjects = resources.get("/XObject") if isinstance(resources, pikepdf.Dictionary) else None
    if not isinstance(xobjects, pikepdf.Dictionary):
        return False
    for _, xobject in list(xobjects.items())[:64]:
        subtype = xobject.get("/Subtype") if isinstance(xobject, pikepdf.Stream) else None
        if subtype == "/Image":
            return True
        if subtype == "/Form" and depth < 2 and _has_images(xobject.get("/Resources"), depth + 1):
            return True
    return False


# A text-showing operator after its string operand; an empty BT…ET block shows nothing.
_TEXT_OP = re.compile(rb"[)>\]]\s*(?:Tj|TJ|'|\")")


def _shows_text(page: pikepdf.Dictionary) -> bool:
    contents = page.get("/Contents")
    streams = contents if isinstance(contents, pikepdf.Array) else [contents]
    for stream in list(streams)[:32]:
        if isinstance(stream, pikepdf.Stream):
            try:
                if _TEXT_OP.search(stream.read_bytes()):
                    return True
            except pikepdf.PdfError:
                continue
    return False


def _is_js_action(action: Any) -> bool:
    return isinstance(action, pikepdf.Dictionary) and action.get("/S") in (
        "/JavaScript", "/Launch")


def _structure(pdf: pikepdf.Pdf, verdict: Verdict) -> None:
    root = pdf.Root
    names = root.get("/Names")
    if isinstance(names, pikepdf.Dictionary) and names.get("/JavaScript") is not None:
        verdict.javascript = True
    if _is_js_action(root.get("/OpenAction")) or root.get("/AA") is not None:
        verdict.javascript = True
    with contextlib.suppress(Exception):
        verdict.embedded_files = len(pdf.attachments)
    sizes: set[tuple[int, int]] = set()
    font_pages = image_only_pages = blank_pages = 0
    for index, page in enumerate(pdf.pages):
        if index >= MAX_DETAIL_PAGES:
            verdict.warnings.append("pdf.details_truncated")
            break
        obj = page.obj
        box = _inherited(obj, "/MediaBox")
        with contextlib.suppress(Exception):
            x0, y0, x1, y1 = (float(v) for v in box)
            w, h = abs(x1 - x0) / _PT_PER_MM, abs(y1 - y0) / _PT_PER_MM
            if int(_inherited(obj, "/Rotate") or 0) % 180:
                w, h = h, w
            sizes.add((round(w), round(h)))
            if verdict.page_size is None:
                verdict.page_size = {"width_mm": round(w, 1), "height_mm": round(h, 1),
                                     "name": paper_name(w, h)}
        resources = _inherited(obj, "/Resources")
        if isinstance(resources, pikepdf.Dictionary) and index < 2000:
            # Resolve each resource once, so qpdf parses (and limits) what readers will load.
            for _ in resources.values():
                pass
        fonts = resources.get("/Font") if isinstance(resources, pikepdf.Dictionary) else None
        has_fonts = isinstance(fonts, pikepdf.Dictionary) and len(fonts) > 0
        if _has_images(resources) and (not has_fonts or not _shows_text(obj)):
            # Some producers list a font on every page; a scan is an image with no text shown.
            image_only_pages += 1
        elif has_fonts:
            font_pages += 1
        else:
            blank_pages += 1
        if obj.get("/AA") is not None:
            verdict.javascript = True
        annots = obj.get("/Annots")
        if isinstance(annots, pikepdf.Array):
            for annot in list(annots)[:200]:
                if not isinstance(annot, pikepdf.Dictionary):
                    continue
                if annot.get("/Subtype") == "/FileAttachment":
                    verdict.embedded_files += 1
                if _is_js_action(annot.get("/A")) or annot.get("/AA") is not None:
                    verdict.javascript = True
    verdict.mixed_page_sizes = len({(min(s), max(s)) for s in sizes}) > 1
    verdict.scanned_pages = image_only_pages
    seen = font_pages + image_only_pages + blank_pages
    verdict.scanned = seen > 0 and image_only_pages == seen
    verdict.text_layer = font_pages > 0


def _outline(pdf: pikepdf.Pdf, verdict: Verdict) -> None:
    page_index = {page.obj.objgen: i + 1 for i, page in enumerate(pdf.pages)
                  if page.obj.is_indirect}
    items: list[dict[str, Any]] = []

    def walk(nodes: list[Any], level: int) -> None:
        for node in nodes:
            if len(items) >= MAX_OUTLINE_ITEMS or level > 8:
                return
            page = None
            dest = node.destination
            if dest is None and isinstance(node.action, pikepdf.Dictionary):
                dest = node.action.get("/D")
            if isinstance(dest, pikepdf.Array) and len(dest) and isinstance(
                    dest[0], pikepdf.Dictionary):
                page = page_index.get(dest[0].objgen)
            items.append({"title": str(node.title)[:200], "level": level, "page": page})
            walk(list(node.children), level + 1)

    try:
        with pdf.open_outline(max_depth=8) as outline:
            walk(list(outline.root), 1)
    except Exception:  # a broken outline is not a broken document
        verdict.warnings.append("pdf.outline_unreadable")
    verdict.outline = items


class _OutOfTime(Exception):
    """The text phase used up its share of the file's time."""


@contextlib.contextmanager
def _time_budget(seconds: float | None) -> Iterator[None]:
    """Interrupt the block after `seconds` of wall time (main thread of the sandbox child)."""
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise _OutOfTime()

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _text(path: Path, verdict: Verdict, full: bool, seconds: float | None = None) -> None:
    """Counts, headings and marks from pypdf's text; the text itself never leaves.

    Bounded by `seconds`: the structure is already known, so a text layer that takes too long
    to read costs the counts (a warning), not the verdict.
    """
    characters = words = unreadable = 0
    verdict.text_scope = "full" if full else "sample"
    with path.open("rb") as fh, _time_budget(seconds):
        try:
            reader = PdfReader(fh, strict=False)
            if reader.is_encrypted:
                reader.decrypt("")
            limit = MAX_TEXT_PAGES if full else SAMPLE_PAGES
            for index, page in enumerate(reader.pages):
                if index >= limit:
                    break
                try:
                    text = page.extract_text() or ""
                except (RecursionError, MemoryError, _OutOfTime):
                    raise
                except Exception:  # one bad page costs its own text only
                    unreadable += 1
                    continue
                c, w = textscan.count(text)
                characters += c
                words += w
                for mark in textscan.classification_marks(text):
                    if mark not in {m["mark"] for m in verdict.classification_marks}:
                        verdict.classification_marks.append({"mark": mark, "page": index + 1})
                if len(verdict.headings) < textscan.MAX_HEADINGS:
                    verdict.headings.extend(textscan.headings_in(text, index + 1))
            else:
                verdict.text_complete = not unreadable
        except (RecursionError, MemoryError):
            raise
        except _OutOfTime:
            verdict.warnings.append("pdf.text_out_of_time")
            verdict.text_complete = False
        except Exception:  # the structure was read; text is a bonus on a damaged file
            verdict.warnings.append("pdf.text_unreadable")
            return
    if unreadable:
        verdict.warnings.append("pdf.text_unreadable_pages")
    del verdict.headings[textscan.MAX_HEADINGS:]
    verdict.characters, verdict.words = characters, words
    if characters:
        verdict.text_layer = True
    elif verdict.text_complete:
        verdict.text_layer = False


def _with_pypdf(path: Path, verdict: Verdict, qpdf_error: str) -> Verdict:
    """Fallback when qpdf cannot open the file."""
    verdict.reader = "pypdf"
    with path.open("rb") as fh:
        try:
            reader = PdfReader(fh, strict=False, root_object_recovery_limit=10_000)
            if reader.is_encrypted:
                verdict.encrypted = True
                if not reader.decrypt(""):
                    verdict.opens_without_password = False
                    return verdict.fail("inspect.encrypted")
                verdict.opens_without_password = True
            verdict.pages = len(reader.pages)
        except FileNotDecryptedError:
            verdict.encrypted, verdict.opens_without_password = True, False
            return verdict.fail("inspect.encrypted")
        except RecursionError:
            return verdict.fail("inspect.too_deep")
        except (PdfReadError, ValueError, KeyError, TypeError, IndexError, AttributeError,
                AssertionError, OSError, NotImplementedError) as exc:
            code = "inspect.corrupt" if _tail_has_eof(path) else "inspect.truncated"
            if "loop" in qpdf_error.lower() or "cyclic" in str(exc).lower():
                code = "inspect.page_tree"
            return verdict.fail(code, f"qpdf: {qpdf_error}; pypdf: {exc}")
    verdict.warnings.append("pdf.read_by_fallback")
    return verdict


def _too_many(verdict: Verdict, max_pages: int) -> bool:
    return 0 < max_pages < (verdict.pages or 0)


def _refuse_pages(verdict: Verdict, max_pages: int) -> Verdict:
    return verdict.fail("inspect.too_many_pages", f"{verdict.pages} pages, limit {max_pages}")


def inspect_pdf(path: Path, text: str = "full", text_seconds: float | None = None,
                max_pages: int = 0) -> Verdict:
    """The verdict on one PDF; above `max_pages` (0: no limit) it is refused before its
    structure and text are read, with the page count kept."""
    verdict = Verdict(format="pdf", reader="qpdf")
    try:
        pdf = pikepdf.open(path, password="", suppress_warnings=True, attempt_recovery=True)
    except pikepdf.PasswordError:
        verdict.encrypted, verdict.opens_without_password = True, False
        return verdict.fail("inspect.encrypted")
    except RecursionError:
        return verdict.fail("inspect.too_deep")
    except (pikepdf.PdfError, ValueError, RuntimeError, OSError) as exc:
        result = _with_pypdf(path, verdict, str(exc))
        if result.ok and _too_many(result, max_pages):
            return _refuse_pages(result, max_pages)
        if result.ok and text != "none":
            _text(path, result, text == "full", text_seconds)
        return result
    with pdf:
        warnings = [str(w) for w in pdf.get_warnings()]
        repaired = bool(warnings)
        if any("deeply nested" in w for w in warnings):
            verdict.pages = len(pdf.pages)
            return verdict.fail("inspect.too_deep")
        if pdf.is_encrypted:
            verdict.encrypted, verdict.opens_without_password = True, True
            verdict.warnings.append("pdf.encrypted_opens_without_password")
        try:
            verdict.pages = len(pdf.pages)
        except (pikepdf.PdfError, RuntimeError, RecursionError) as exc:
            # qpdf refuses a page tree it cannot walk (loops, broken kids): try pypdf.
            result = _with_pypdf(path, verdict, str(exc))
            if result.ok and _too_many(result, max_pages):
                return _refuse_pages(result, max_pages)
            if result.ok and text != "none":
                _text(path, result, text == "full", text_seconds)
            return result
        declared = pdf.Root.get("/Pages", pikepdf.Dictionary()).get("/Count")
        with contextlib.suppress(TypeError, ValueError):
            declared_n = int(declared) if declared is not None else verdict.pages
            if declared_n != verdict.pages:
                verdict.warnings.append("pdf.page_count_mismatch")
                verdict.page_leaves = verdict.pages
                # A file that claims vastly more pages than it has is built to make
                # readers allocate or loop: refuse it, but say how many pages are real.
                if declared_n > max(10 * verdict.pages, 10_000):
                    return verdict.fail("inspect.page_tree",
                                        f"claims {declared_n} pages, has {verdict.pages}")
                # Viewers (poppler, qpdf) report a plausible /Count as the page count; so do
                # we, so that our figure is the one the reviewer's viewer shows. The leaves we
                # found are kept beside it.
                size = int(pdf.trailer.get("/Size", 0) or 0)
                if 0 < declared_n <= max(size, verdict.pages):
                    verdict.pages = declared_n
        if _too_many(verdict, max_pages):
            # No reader should walk 100,000 pages of one upload: refuse it before the
            # structure and text passes, which cost time per page.
            return _refuse_pages(verdict, max_pages)
        if repaired:
            verdict.warnings.append("pdf.repaired")
        try:
            _structure(pdf, verdict)
        except (RecursionError, MemoryError):
            raise
        except Exception:  # pages and encryption are known; the details are a bonus
            verdict.warnings.append("pdf.structure_unreadable")
        if any("deeply nested" in str(w) for w in pdf.get_warnings()):
            # qpdf dropped structures nested past its limit: the nesting is the attack, and
            # what remains is not the file the author made.
            return verdict.fail("inspect.too_deep")
        try:
            _outline(pdf, verdict)
        except (RecursionError, MemoryError):
            raise
        except Exception:  # a broken outline is not a broken document
            verdict.warnings.append("pdf.outline_unreadable")
    if repaired and not _tail_has_eof(path):
        return verdict.fail("inspect.truncated")
    if text != "none":
        _text(path, verdict, text == "full", text_seconds)
    if not verdict.headings and verdict.outline:
        verdict.headings = [{"text": o["title"], "level": o["level"], "page": o["page"]}
                            for o in verdict.outline]
    return verdict
