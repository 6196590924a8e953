"""How a digital signature found in a document is reported, whatever the format (PDF, OFD).

Plain data and words; no reader here. A signature is one of three states:

- `valid`: the signed bytes are intact (the digest matches), the signature value verifies with
  the certificate it carries, that certificate is readable, and nothing but further signatures,
  form filling or annotations changed after signing. There is no national trust list here, so a
  valid signature's certificate is *not* checked against a chain of trust: every report says so
  ("证书未经信任链验证"). Valid means "these bytes were signed by the holder of this
  certificate", not "this certificate belongs to who it names".
- `invalid`: the digest does not match, the signature value does not verify, or the document
  was changed after signing beyond what a signature allows.
- `unverifiable`: a signature we found but cannot check — above all SM2/SM3 (国密, the seals of
  GB/T 38540), which this system cannot verify; never reported as valid.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

VALID, INVALID, UNVERIFIABLE = "valid", "invalid", "unverifiable"

STATES: dict[str, tuple[str, str]] = {
    VALID: ("签名有效", "valid signature"),
    INVALID: ("签名无效", "invalid signature"),
    UNVERIFIABLE: ("签名无法验证", "signature that cannot be verified"),
}

# reason code → (zh-CN, en): why a signature is in its state. Stable: scripts branch on them.
REASONS: dict[str, tuple[str, str]] = {
    "signature.intact": ("签名后文件未被改动，签名值验证通过。",
                         "The file is unchanged since signing and the signature verifies."),
    "signature.later_signatures": ("签名后仅追加了其他签名、填表或批注，签名覆盖的内容未变。",
                                   "Only further signatures, form filling or annotations were "
                                   "added after signing; the signed content is unchanged."),
    "signature.digest_mismatch": ("签名后文件内容被改动（摘要不符）。",
                                  "The file was changed after signing (the digest does not "
                                  "match)."),
    "signature.bad_value": ("签名值验证失败。", "The signature value does not verify."),
    "signature.modified_after": ("签名后文件被修改（不只是追加签名、填表或批注）。",
                                 "The file was modified after signing (beyond further "
                                 "signatures, form filling or annotations)."),
    "signature.no_certificate": ("签名中的签名人证书无法读取。",
                                 "The signer's certificate in the signature cannot be read."),
    "signature.sm2": ("国密 SM2/SM3 签名（如 GB/T 38540 电子签章），本系统无法验证，请人工核验。",
                      "An SM2/SM3 signature (e.g. a GB/T 38540 electronic seal); this system "
                      "cannot verify it: check it by hand."),
    "signature.unknown_algorithm": ("签名算法或格式本系统无法验证，请人工核验。",
                                    "The signature's algorithm or format cannot be verified "
                                    "here: check it by hand."),
    "signature.unreadable": ("签名数据损坏，无法读取。", "The signature data is damaged."),
    "signature.ofd_value_not_checked": (
        "签章所保护的文件内容摘要一致，但签名值本系统无法验证，请人工核验。",
        "The digests of the signed parts match, but the signature value cannot be verified "
        "here: check it by hand."),
}

UNTRUSTED = ("证书未经信任链验证", "certificate not checked against a chain of trust")

# DER of the OID arc 1.2.156.10197 (Chinese commercial cryptography: SM2, SM3, SM4): any
# algorithm under it is one we cannot verify.
GM_ARC_DER = bytes.fromhex("2a811ccf55")
GM_ARC = "1.2.156.10197."


def is_gm(oid: str | None) -> bool:
    return bool(oid) and str(oid).startswith(GM_ARC)


@dataclass
class Signature:
    """One signature as reported (JSON-ready with `as_dict`)."""

    format: str  # pdf or ofd
    state: str
    reason: str
    name: str | None = None  # the PDF field name or the OFD signature id
    pages: list[int] = field(default_factory=list)  # pages it shows on (its widget or stamp)
    # Whether the signed bytes are the whole file (PDF: the byte range reaches its end).
    covers_whole_file: bool | None = None
    changed_after_signing: bool | None = None
    intact: bool | None = None  # the digest of the signed content matches
    signer: str | None = None
    signing_time: str | None = None  # as the signature states it (ISO 8601 where parsed)
    algorithm: str | None = None
    kind: str | None = None  # OFD: Seal (签章) or Sign (签名)
    trusted: bool = False  # never True: there is no trust list (see the module's note)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _beijing(stamp: str) -> str:
    """A stated signing time as people read it: Beijing time to the minute, if it has a zone."""
    try:
        when = datetime.fromisoformat(stamp)
    except (TypeError, ValueError):
        return str(stamp)
    if when.tzinfo is None:
        return when.strftime("%Y-%m-%d %H:%M")
    return when.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")


def words(signature: dict[str, Any], lang: str = "zh-CN") -> str:
    """One line a person reads: state, reason, signer, time, pages, trust."""
    i = 0 if lang.startswith("zh") else 1
    state = STATES.get(signature.get("state", ""), ("?", "?"))[i]
    reason = REASONS.get(signature.get("reason", ""), ("", ""))[i]
    parts = [state, reason]
    if signature.get("signer"):
        parts.append(("签名人：" if i == 0 else "signer: ") + str(signature["signer"]))
    if signature.get("signing_time"):
        parts.append(("签名时间：" if i == 0 else "signed: ") + _beijing(signature["signing_time"]))
    pages = signature.get("pages") or []
    if pages:
        listed = "、".join(str(p) for p in pages) if i == 0 else ", ".join(map(str, pages))
        parts.append(f"第 {listed} 页" if i == 0 else f"page {listed}")
    if signature.get("state") == VALID and not signature.get("trusted"):
        parts.append(UNTRUSTED[i])
    return ("；" if i == 0 else "; ").join(p.rstrip("。.") for p in parts if p)


def printed(found: list[dict[str, Any]], checked: bool = True, lang: str = "zh-CN"
            ) -> list[str]:
    """The lines `dossier inspect` prints under a file: one per signature, or that none was
    found (or that none could be looked for, when `checked` is false)."""
    if not checked:
        return ["未能检查数字签名" if lang.startswith("zh") else "digital signatures not checked"]
    if not found:
        return ["无数字签名" if lang.startswith("zh") else "no digital signature"]
    return [f"{'签名' if lang.startswith('zh') else 'signature'} {i}: {words(s, lang)}"
            for i, s in enumerate(found, 1)]
