"""What an inspection concludes about one file, and the codes it may fail with.

Plain data: built inside the sandboxed child, sent to the parent as JSON, stored by the worker
and printed by `dossier inspect`. A failure is a verdict with a code, never an exception.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# code → (zh-CN, en). Stable: intake, notify and scripts branch on them.
CODES: dict[str, tuple[str, str]] = {
    "inspect.empty": ("文件为空。", "The file is empty."),
    "inspect.unreadable": ("无法读取该文件。", "The file cannot be read."),
    "inspect.unknown_format": ("无法识别的文件格式，请上传 PDF、DOCX 或扫描图片。",
                               "The file format is not recognised; upload PDF, DOCX or a scan."),
    "inspect.unsupported_format": ("不支持该文件格式，请上传 PDF、DOCX 或扫描图片。",
                                   "This format is not accepted; upload PDF, DOCX or a scan."),
    "inspect.executable": ("文件是可执行程序或脚本，不是文档，已拒收。",
                           "The file is an executable or script, not a document; refused."),
    "inspect.legacy_doc": ("不接受旧版 Word（.doc）文件，请另存为 .docx 或 PDF 后上传。",
                           "Legacy Word (.doc) files are not accepted; save as .docx or PDF."),
    "inspect.wps_format": ("不接受 WPS 格式文件（.wps、.et、.dps）：请在 WPS 中点击"
                           "「文件 → 另存为」，保存为 PDF 或 DOCX 后再检查或上传。",
                           "WPS Office files (.wps, .et, .dps) are not accepted: in WPS choose "
                           "File → Save As and save as PDF or DOCX, then check or upload that."),
    "inspect.macros": ("文件含宏（.docm 或 VBA 工程），已拒收，请另存为不含宏的 .docx 或 PDF。",
                       "The file contains macros (.docm or a VBA project); save it as a plain "
                       ".docx or PDF."),
    "inspect.encrypted": ("文件已加密，无法打开，请上传未加密的文件。",
                          "The file is encrypted and cannot be opened; upload it unencrypted."),
    "inspect.corrupt": ("文件已损坏，无法读取，请重新导出后上传。",
                        "The file is damaged and cannot be read; export it again."),
    "inspect.truncated": ("文件不完整（可能上传中断），请重新上传。",
                          "The file is incomplete (the upload may have been cut); upload again."),
    "inspect.page_tree": ("PDF 页面结构异常（循环或页数声明不实），无法可靠读取。",
                          "The PDF page tree is malformed (a loop or a false page count)."),
    "inspect.too_many_pages": ("文件页数过多，超过申报材料允许的上限，请精简或拆分后重新上传。",
                               "The file has more pages than a packet document may have; "
                               "shorten or split it and upload again."),
    "inspect.too_deep": ("文件结构嵌套过深，已拒收。", "The file nests too deeply; refused."),
    "inspect.zip_bomb": ("压缩包解压后过大或条目过多（疑似压缩炸弹），已拒收。",
                         "The archive expands too much or has too many entries (a zip bomb); "
                         "refused."),
    "inspect.xml_entities": ("文档含 DOCTYPE 或实体声明（可能是 XXE 或实体膨胀攻击），已拒收。",
                             "The document declares a DOCTYPE or entities (XXE or entity "
                             "expansion); refused."),
    "inspect.timeout": ("文件检查超时，已中止。文件可能过大或结构异常。",
                        "Inspection took too long and was stopped; the file may be too large "
                        "or malformed."),
    "inspect.memory": ("文件检查超出内存限制，已中止。",
                       "Inspection exceeded its memory limit and was stopped."),
    "inspect.crashed": ("检查程序在读取该文件时异常终止。",
                        "The inspector died while reading this file."),
}


PREVIEW_CHARACTERS = 20_000


def message(code: str) -> dict[str, str]:
    zh, en = CODES.get(code, (code, code))
    return {"zh-CN": zh, "en": en}


@dataclass
class Verdict:
    """Everything the inspection found. `error` is None or {code, message, messages}."""

    ok: bool = True
    format: str | None = None
    pages: int | None = None
    page_leaves: int | None = None  # pages really in the page tree, when /Count says otherwise
    encrypted: bool = False
    opens_without_password: bool | None = None
    text_layer: bool | None = None
    scanned: bool | None = None  # every page is an image, no text anywhere
    scanned_pages: int | None = None  # pages that are images without text (e.g. sealed scans)
    characters: int | None = None
    words: int | None = None
    text_complete: bool = False  # counts cover the whole file, not a sample
    text_scope: str = "none"  # how much text was read: none, sample or full
    headings: list[dict[str, Any]] = field(default_factory=list)  # {text, level, page}
    outline: list[dict[str, Any]] = field(default_factory=list)  # {title, level, page}
    classification_marks: list[dict[str, Any]] = field(default_factory=list)  # {mark, page}
    embedded_files: int = 0
    javascript: bool = False
    external_links: int = 0
    page_size: dict[str, Any] | None = None  # {width_mm, height_mm, name}
    mixed_page_sizes: bool = False
    reader: str | None = None
    warnings: list[str] = field(default_factory=list)
    error: dict[str, Any] | None = None
    # The first paragraphs of a DOCX's text (at most PREVIEW_CHARACTERS), read here in the
    # sandbox so the viewer can show a preview without parsing the file in a web process.
    preview: list[str] = field(default_factory=list)
    # Digital signatures (PDF signature fields, OFD 签章): `signatures.Signature.as_dict()` each.
    signatures: list[dict[str, Any]] = field(default_factory=list)
    # Seals found on each page (`seal_pages.SealFacts`: pages looked at, and per page the
    # official and name seals with box, size in mm and confidence); None: not looked for.
    seals: dict[str, Any] | None = None

    def fail(self, code: str, detail: str | None = None) -> Verdict:
        self.ok = False
        msgs = message(code)
        self.error = {"code": code, "message": msgs["en"], "messages": msgs}
        if detail:
            self.error["detail"] = detail[:300]
        return self

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def failed(code: str, fmt: str | None = None, detail: str | None = None, **found: Any
           ) -> Verdict:
    return Verdict(format=fmt, **found).fail(code, detail)
