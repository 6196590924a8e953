"""The signatures (签章 and 签名) of an OFD file, reported like a PDF's (`signatures`).

`Signatures.xml` lists each signature's `Signature.xml`, whose `SignedInfo` names the signature
method, the time, the stamp's page and, under `References`, a digest (`CheckValue`) of every
part it protects with the digest method (`CheckMethod`, usually SM3). We recompute those
digests: a part changed or removed after signing makes the signature `invalid`. The signature
value itself (`SignedValue`, a GB/T 38540 SES_Signature for SM2 seals) is not verified here:
an SM2 signature is `unverifiable` ("signature.sm2"), any other method `unverifiable` with
"signature.ofd_value_not_checked" — never `valid`.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import posixpath
import re
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives import hashes

from services.documents.ofd_inspect import children, first, resolve, text_of
from services.documents.signatures import INVALID, UNVERIFIABLE, Signature, is_gm

if TYPE_CHECKING:
    from services.documents.ofd_inspect import Package

MAX_SIGNATURES = 50
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(Z?)$")
MAX_REFERENCES = 5000

# CheckMethod as writers spell it → the digest.
_DIGESTS: dict[str, type[hashes.HashAlgorithm]] = {
    "1.2.156.10197.1.401": hashes.SM3, "sm3": hashes.SM3,
    "2.16.840.1.101.3.4.2.1": hashes.SHA256, "sha256": hashes.SHA256, "sha-256": hashes.SHA256,
    "1.3.14.3.2.26": hashes.SHA1, "sha1": hashes.SHA1, "sha-1": hashes.SHA1,
}
_NAMES = {"1.2.156.10197.1.501": "SM2/SM3", "1.2.156.10197.1.301": "SM2",
          "1.2.840.113549.1.1.11": "sha256WithRSA", "1.2.840.10045.4.3.2": "ecdsa-with-SHA256"}


def read_signatures(package: Package, listing: str, page_numbers: dict[str, int]
                    ) -> list[dict[str, Any]]:
    """Each signature `listing` (the Signatures.xml part) names, reported."""
    signatures = package.xml(listing)
    if signatures is None:
        return []
    found: list[dict[str, Any]] = []
    for entry in list(children(signatures, "Signature"))[:MAX_SIGNATURES]:
        location = entry.get("BaseLoc")
        name = entry.get("ID")
        kind = entry.get("Type") or "Seal"  # the standard's default
        part = resolve(location, posixpath.dirname(listing)) if location else None
        signature = package.xml(part) if part else None
        if signature is None:
            found.append(Signature("ofd", INVALID, "signature.unreadable", name,
                                   kind=kind).as_dict())
            continue
        found.append(_one(package, signature, part or "", name, kind, page_numbers).as_dict())
    return found


def _one(package: Package, signature: Any, part: str, name: str | None, kind: str,
         page_numbers: dict[str, int]) -> Signature:
    info = first(signature, "SignedInfo")
    method = (text_of(info, "SignatureMethod") if info is not None else None) or ""
    found = Signature("ofd", UNVERIFIABLE, "signature.ofd_value_not_checked", name, kind=kind,
                      algorithm=_NAMES.get(method, method or None))
    if info is None:
        found.reason = "signature.unreadable"
        return found
    found.signing_time = _iso(text_of(info, "SignatureDateTime"))
    found.pages = sorted({page_numbers[ref] for stamp in children(info, "StampAnnot")
                          if (ref := stamp.get("PageRef")) in page_numbers})
    provider = first(info, "Provider")
    value = text_of(signature, "SignedValue")
    found.signer = _signer(package.raw(_located(package, value, posixpath.dirname(part)))) \
        if value else None
    if provider is not None and provider.get("ProviderName"):
        found.algorithm = f"{found.algorithm or '?'} ({provider.get('ProviderName')})"
    intact, covered = _references(package, info, posixpath.dirname(part))
    found.intact = intact
    if intact is False:
        found.state, found.reason = INVALID, "signature.digest_mismatch"
        found.changed_after_signing = True
        return found
    if intact is None:
        found.reason = "signature.unknown_algorithm"
    elif is_gm(method) or method.lower().startswith("sm2"):
        found.reason = "signature.sm2"
    found.changed_after_signing = False if intact else None
    found.covers_whole_file = covered
    return found


def _references(package: Package, info: Any, base_dir: str) -> tuple[bool | None, bool | None]:
    """(every referenced part is present with its digest, the references cover every content
    part); (None, None) when the digest method is one we do not know."""
    references = first(info, "References")
    if references is None:
        return None, None
    method = (references.get("CheckMethod") or "").strip()
    algorithm = _DIGESTS.get(method) or _DIGESTS.get(method.lower())
    if algorithm is None:
        return None, None
    covered: set[str] = set()
    for reference in list(children(references, "Reference"))[:MAX_REFERENCES]:
        target = _located(package, reference.get("FileRef") or "", base_dir)
        data = package.raw(target)
        expected = _decoded(text_of(reference, "CheckValue"))
        if data is None or expected is None:
            return False, None
        digest = hashes.Hash(algorithm())
        digest.update(data)
        if digest.finalize() != expected:
            return False, None
        covered.add(target.lower())
    # Signature parts themselves (and those of later signatures) cannot be covered.
    content = {n for n in package.names if n == n.lower() and not n.endswith("/")
               and "/signs/" not in f"/{n}"}
    return True, content <= covered


def _located(package: Package, location: str, base_dir: str) -> str:
    """A location as the standard reads it, or from the package root where writers meant that."""
    relative = resolve(location, base_dir)
    rooted = resolve(location, "")
    known = relative in package.names or relative.lower() in package.names
    return relative if known or rooted == relative else rooted


def _signer(value: bytes | None) -> str | None:
    """The signer's name from the signer certificate a GB/T 38540 SES_Signature carries
    (v4: its second field; v1: the sixth field of `toSign`). Read for people only: the
    signature itself stays unverified."""
    from asn1crypto import core
    from asn1crypto import x509 as ax509

    if not value:
        return None
    try:
        top = core.load(value)
        candidates = [top[1]]
        with contextlib.suppress(Exception):
            candidates.append(top[0][5])
        for candidate in candidates:
            if isinstance(candidate, core.OctetString):
                subject = ax509.Certificate.load(candidate.native).subject.native
                names = [subject.get("organization_name"), subject.get("common_name")]
                return " / ".join(dict.fromkeys(str(n) for n in names if n)) or None
    except Exception:  # not an SES_Signature we can read: no name, the state says the rest
        return None
    return None


def _iso(stamp: str | None) -> str | None:
    """GB/T 33190 writes times as 'YYYYMMDDhhmmss' (often with 'Z'); ISO 8601 where it does."""
    match = _COMPACT.match(stamp or "")
    if match is None:
        return stamp
    y, mo, d, h, mi, s, zone = match.groups()
    return f"{y}-{mo}-{d}T{h}:{mi}:{s}" + ("+00:00" if zone else "")


def _decoded(value: str | None) -> bytes | None:
    try:
        return base64.b64decode(value or "", validate=True) if value else None
    except (binascii.Error, ValueError):
        return None
