"""What an upload is, judged from its first bytes — never from its name."""

from __future__ import annotations

from pathlib import PurePosixPath

from shared.errors import DossierError
from shared.web.nav import N_

# Content type → the file-name endings that may carry it.
ALLOWED: dict[str, tuple[str, ...]] = {
    "application/pdf": (".pdf",),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (".docx",),
    "image/jpeg": (".jpg", ".jpeg"),
    "image/png": (".png",),
    "image/tiff": (".tif", ".tiff"),  # what office scanners write by default
    "application/ofd": (".ofd",),  # GB/T 33190: electronic licences, invoices, documents
}
# What a person reads for each type (msgids, translated where shown); never the raw type.
TYPE_LABELS: dict[str, str] = {
    "application/pdf": N_("PDF document"),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": N_("Word document"),
    "image/jpeg": N_("JPEG image"),
    "image/png": N_("PNG image"),
    "image/tiff": N_("TIFF image"),
    "application/ofd": N_("OFD document"),
}
ALLOWED_ZIP = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
OFD = "application/ofd"
# WPS Office's own formats (writer, spreadsheets, presentations and their templates): refused by
# name, with how to export, before a byte is sent.
WPS_SUFFIXES = (".wps", ".wpt", ".et", ".ett", ".dps", ".dpt")
SNIFF_BYTES = 8192


def type_label(content_type: str | None) -> str:
    """The msgid naming a stored file's type ("PDF document"), "File" for anything else."""
    return TYPE_LABELS.get(content_type or "", N_("File"))


class UploadRefused(DossierError):
    status = 415


def refuse_wps(filename: str) -> None:
    """Refuses a WPS Office file (upload.wps_format) with the way to export it."""
    if PurePosixPath(filename).suffix.lower() in WPS_SUFFIXES:
        raise UploadRefused(
            "upload.wps_format",
            zh="不接受 WPS 格式文件（.wps、.et、.dps）：请在 WPS 中点击「文件 → 另存为」，"
               "保存为 PDF 或 DOCX 后重新上传。",
            en="WPS Office files (.wps, .et, .dps) are not accepted: in WPS choose "
               "File → Save As and save the file as PDF or DOCX, then upload that.")


def sniff(head: bytes) -> str | None:
    """Content type from magic bytes; "zip" for a ZIP that does not show itself as a Word
    package in `head`; None when it is nothing we accept."""
    # PDF readers accept the header anywhere in the first KiB, so a sniffer must too.
    if b"%PDF-" in head[:1024]:
        return "application/pdf"
    if head.startswith(b"PK\x03\x04"):
        # OOXML is a ZIP whose first member is normally [Content_Types].xml; the documents
        # service inspects the package properly, here we only refuse what is plainly not one.
        if b"OFD.xml" in head:
            return OFD
        return ALLOWED_ZIP if b"[Content_Types].xml" in head or b"word/" in head else "zip"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "image/tiff"
    return None


def check_upload(filename: str, head: bytes) -> str:
    """The accepted content type, or an error saying exactly why the file is refused."""
    if not head:
        raise DossierError("upload.empty", status=422, zh="文件为空（0 字节），请重新选择文件。",
                           en="The file is empty (0 bytes).")
    refuse_wps(filename)
    detected = sniff(head)
    suffix = PurePosixPath(filename).suffix.lower()
    if detected == "zip":
        # Some writers put thumbnails or properties first, so the package's own parts can lie
        # beyond the bytes seen here. A ZIP named .docx or .ofd goes on to the documents service,
        # which opens the package and refuses it with a reason if it is not such a document.
        detected = {".docx": ALLOWED_ZIP, ".ofd": OFD}.get(suffix)
    if detected is None:
        raise UploadRefused("upload.type_not_allowed",
                            zh="不支持的文件类型：仅接受 PDF、DOCX、OFD、JPEG、PNG、TIFF。",
                            en="File type not allowed: only PDF, DOCX, OFD, JPEG, PNG and TIFF.")
    if suffix and suffix not in ALLOWED[detected]:
        raise UploadRefused(
            "upload.type_mismatch",
            zh="文件扩展名 {suffix} 与文件内容（{detected}）不符。",
            en="The file name ends in {suffix} but its content is {detected}.",
            suffix=suffix, detected=detected)
    return detected
