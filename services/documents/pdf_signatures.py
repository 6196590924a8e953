"""The digital signatures of a PDF, read and checked with pyHanko (see `signatures` for what
the states mean). Runs only inside the sandbox, after the PDF opened.

Every filled signature field is reported, including those pyHanko itself would skip (an unknown
/SubFilter, a GB/T 38540 seal that is not CMS): those are `unverifiable`, never dropped.
Nothing is fetched from the network (no revocation or certificate fetching).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
from pathlib import Path
from typing import Any

from services.documents.signatures import (
    GM_ARC_DER,
    INVALID,
    UNVERIFIABLE,
    VALID,
    Signature,
    is_gm,
)
from services.documents.verdict import Verdict

# The warning of a PDF whose signatures were not read (encrypted, or pyHanko failed on it).
NOT_READ = "pdf.signatures_not_read"
# Signatures of a packet document are few; a file claiming more is not checked past this.
MAX_SIGNATURES = 50
MAX_PAGES = 100_000  # the page-tree walk that places widgets stops here

logging.getLogger("pyhanko").setLevel(logging.CRITICAL)
logging.getLogger("pyhanko_certvalidator").setLevel(logging.CRITICAL)


def with_signatures(path: Path, verdict: Verdict) -> Verdict:
    """The PDF's verdict with its signatures; a signature layer we cannot read is a warning,
    never the file's failure."""
    if not verdict.ok:
        return verdict
    if verdict.encrypted:  # the signature dictionaries are encrypted too
        verdict.warnings.append(NOT_READ)
        return verdict
    if not _mentions_byte_range(path):
        return verdict  # no signature dictionary anywhere: pyHanko need not parse the file
    try:
        verdict.signatures = read_signatures(path)
    except Exception:  # pyHanko on a damaged or hostile file: the inspection still stands
        verdict.warnings.append(NOT_READ)
    return verdict


def _mentions_byte_range(path: Path) -> bool:
    """Whether the file holds `/ByteRange` anywhere. A signature dictionary is patched in place
    after signing, so writers never put it in a compressed object stream: a file without the
    key has no signature to read."""
    key = b"/ByteRange"
    tail = b""
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            if key in tail + chunk:
                return True
            tail = chunk[-len(key):]
    return False


def read_signatures(path: Path) -> list[dict[str, Any]]:
    """Each filled signature field of the PDF at `path`, reported; [] when it has none."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.fields import enumerate_sig_fields

    with path.open("rb") as fh:
        reader = PdfFileReader(fh, strict=False)
        fields = list(itertools.islice(enumerate_sig_fields(reader, filled_status=True),
                                       MAX_SIGNATURES))
        widget_pages = _widget_pages(reader) if fields else {}
        return [_one(reader, str(name), field_ref, widget_pages).as_dict()
                for name, _value, field_ref in fields]


def _one(reader: Any, name: str, field_ref: Any, widget_pages: dict[int, int]) -> Signature:
    pages = sorted({widget_pages[i] for i in _widget_ids(field_ref) if i in widget_pages})
    raw = _raw_contents(field_ref)
    if raw is not None and GM_ARC_DER in raw:
        return Signature("pdf", UNVERIFIABLE, "signature.sm2", name, pages, algorithm="SM2/SM3")
    from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature

    try:
        embedded = EmbeddedPdfSignature(reader, field_ref.get_object(), name)
    except Exception:  # not CMS (a national-format seal), no /ByteRange, ...: say so
        return Signature("pdf", UNVERIFIABLE, "signature.unknown_algorithm", name, pages,
                         algorithm=_subfilter(field_ref))
    found = Signature("pdf", UNVERIFIABLE, "signature.unknown_algorithm", name, pages,
                      signer=_signer(embedded), signing_time=_time(embedded))
    digest = embedded.signer_info["digest_algorithm"]["algorithm"].dotted
    mechanism = embedded.signer_info["signature_algorithm"]["algorithm"].dotted
    if is_gm(digest) or is_gm(mechanism):
        found.reason, found.algorithm = "signature.sm2", "SM2/SM3"
        return found
    return _validate(embedded, found)


def _validate(embedded: Any, found: Signature) -> Signature:
    from pyhanko.sign.diff_analysis import ModificationLevel
    from pyhanko.sign.validation import SignatureCoverageLevel, validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    try:
        coverage = embedded.evaluate_signature_coverage()
        whole = coverage == SignatureCoverageLevel.ENTIRE_FILE
        # No trust roots, no fetching: the chain is never claimed (see `signatures`). The
        # difference analysis runs only when something was added after signing.
        status = validate_pdf_signature(
            embedded, ValidationContext(trust_roots=[], allow_fetching=False),
            skip_diff=whole)
    except Exception as exc:  # hostile input: pyHanko raises many types; say what we can
        unsupported = isinstance(exc, NotImplementedError) or "support" in str(exc).lower()
        found.reason = "signature.unknown_algorithm" if unsupported else "signature.unreadable"
        return found
    found.algorithm = str(status.pkcs7_signature_mechanism or "") or None
    found.covers_whole_file = whole
    found.changed_after_signing = not whole
    found.intact = bool(status.intact)
    level = status.modification_level
    if not status.intact:
        found.state, found.reason = INVALID, "signature.digest_mismatch"
    elif not status.valid:
        found.state, found.reason = INVALID, "signature.bad_value"
    elif status.coverage not in (SignatureCoverageLevel.ENTIRE_FILE,
                                 SignatureCoverageLevel.ENTIRE_REVISION) or \
            (level is not None and level >= ModificationLevel.OTHER) or \
            (status.docmdp_ok is False):
        found.state, found.reason = INVALID, "signature.modified_after"
    elif found.signer is None:
        found.state, found.reason = INVALID, "signature.no_certificate"
    else:
        found.state = VALID
        found.reason = "signature.intact" if whole else "signature.later_signatures"
    return found


def _raw_contents(field_ref: Any) -> bytes | None:
    try:
        value = field_ref.get_object()["/V"]
        contents = value.get("/Contents")
        return bytes(contents.original_bytes) if contents is not None else None
    except Exception:  # malformed dictionary: the structured path below says what it can
        return None


def _subfilter(field_ref: Any) -> str | None:
    try:
        value = field_ref.get_object()["/V"]
        return str(value.get("/SubFilter") or value.get("/Filter") or "").lstrip("/") or None
    except Exception:
        return None


def _signer(embedded: Any) -> str | None:
    try:
        subject = embedded.signer_cert.subject.native
    except Exception:  # no certificate in the CMS, or one that does not parse
        return None
    names = [subject.get("organization_name"), subject.get("common_name")]
    flat = [n if isinstance(n, str) else "、".join(n) for n in names if n]
    unique = list(dict.fromkeys(flat))
    return " / ".join(unique) or embedded.signer_cert.subject.human_friendly


def _time(embedded: Any) -> str | None:
    try:
        when = embedded.self_reported_timestamp
    except Exception:
        return None
    return when.isoformat() if when is not None else None


def _widget_ids(field_ref: Any) -> set[int]:
    """Object numbers of the field's widgets: the field itself and its kids."""
    ids = {field_ref.idnum} if hasattr(field_ref, "idnum") else set()
    # A malformed /Kids: the field's own widget still counts.
    with contextlib.suppress(Exception):
        for kid in field_ref.get_object().get("/Kids") or []:
            ids.add(kid.idnum)
    return ids


def _widget_pages(reader: Any) -> dict[int, int]:
    """Object number of each annotation → the page (1-based) that lists it. One walk of the
    page tree for the whole file, visited nodes remembered (a hostile tree may loop)."""
    found: dict[int, int] = {}
    seen: set[int] = set()
    stack: list[Any] = [reader.root.raw_get("/Pages")]
    number = 0
    with contextlib.suppress(Exception):  # a damaged tree: the pages found so far stand
        while stack and number < MAX_PAGES:
            ref = stack.pop()
            idnum = getattr(ref, "idnum", None)
            if idnum is not None:
                if idnum in seen:
                    continue
                seen.add(idnum)
            node = ref.get_object()
            if "/Kids" in node:
                stack.extend(reversed(list(node["/Kids"])))
                continue
            number += 1
            for annot in node.get("/Annots") or []:
                if getattr(annot, "idnum", None) is not None:
                    found.setdefault(annot.idnum, number)
    return found
