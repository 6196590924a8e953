"""Inspection of one file: what it is and how many pages it has.

Pure logic over a local file. Every input is hostile: a failure is a verdict with a code, never
an exception out of this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pypdf import PdfReader
from pypdf.errors import FileNotDecryptedError, PdfReadError


@dataclass(frozen=True)
class Verdict:
    ok: bool
    format: str | None
    pages: int | None = None
    encrypted: bool = False
    error_code: str | None = None
    error: dict[str, str] = field(default_factory=dict)  # {"zh-CN": ..., "en": ...}


def _failed(fmt: str | None, code: str, zh: str, en: str, *, encrypted: bool = False) -> Verdict:
    return Verdict(False, fmt, None, encrypted, code, {"zh-CN": zh, "en": en})


def detect_format(head: bytes) -> str | None:
    if b"%PDF-" in head[:1024]:
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        return "docx"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    return None


def inspect_file(path: Path) -> Verdict:
    with path.open("rb") as fh:
        head = fh.read(1024)
    fmt = detect_format(head)
    if fmt is None:
        return _failed(None, "inspect.unknown_format", "无法识别的文件格式。",
                       "The file format is not recognised.")
    if fmt != "pdf":
        return Verdict(True, fmt, 1 if fmt in ("jpeg", "png") else None)
    try:
        reader = PdfReader(path, strict=False)
        encrypted = reader.is_encrypted
        if encrypted and not reader.decrypt(""):
            return _failed("pdf", "inspect.encrypted", "PDF 已加密，无法打开，请上传未加密的文件。",
                           "The PDF is encrypted and cannot be opened.", encrypted=True)
        return Verdict(True, "pdf", len(reader.pages), encrypted)
    except FileNotDecryptedError:
        return _failed("pdf", "inspect.encrypted", "PDF 已加密，无法打开，请上传未加密的文件。",
                       "The PDF is encrypted and cannot be opened.", encrypted=True)
    except (PdfReadError, ValueError, KeyError, TypeError, IndexError, RecursionError,
            AttributeError) as exc:
        return _failed("pdf", "inspect.corrupt", f"PDF 文件已损坏：{exc}",
                       f"The PDF is damaged: {exc}")
