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
}
# What a person reads for each type (msgids, translated where shown); never the raw type.
TYPE_LABELS: dict[str, str] = {
    "application/pdf": N_("PDF document"),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": N_("Word document"),
    "image/jpeg": N_("JPEG image"),
    "image/png": N_("PNG image"),
    "image/tiff": N_("TIFF image"),
}
ALLOWED_ZIP = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
SNIFF_BYTES = 8192


def type_label(content_type: str | None) -> str:
    """The msgid naming a stored file's type ("PDF document"), "File" for anything else."""
    return TYPE_LABELS.get(content_type or "", N_("File"))


class UploadRefused(DossierError):
    status = 415


def sniff(head: bytes) -> str | None:
    """Content type from magic bytes; "zip" for a ZIP that does not show itself as a Word
    package in `head`; None when it is nothing we accept."""
    # PDF readers accept the header anywhere in the first KiB, so a sniffer must too.
    if b"%PDF-" in head[:1024]:
        return "application/pdf"
    if head.startswith(b"PK\x03\x04"):
        # OOXML is a ZIP whose first member is normally [Content_Types].xml; the documents
        # service inspects the package properly, here we only refuse what is plainly not one.
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
    detected = sniff(head)
    suffix = PurePosixPath(filename).suffix.lower()
    if detected == "zip":
        # Some writers put thumbnails or properties first, so the package's own parts can lie
        # beyond the bytes seen here. A ZIP named .docx goes on to the documents service, which
        # opens the package and refuses it with a reason if it is not a Word document.
        detected = ALLOWED_ZIP if suffix == ".docx" else None
    if detected is None:
        raise UploadRefused("upload.type_not_allowed",
                            zh="不支持的文件类型：仅接受 PDF、DOCX、JPEG、PNG、TIFF。",
                            en="File type not allowed: only PDF, DOCX, JPEG, PNG and TIFF.")
    if suffix and suffix not in ALLOWED[detected]:
        raise UploadRefused(
            "upload.type_mismatch",
            zh="文件扩展名 {suffix} 与文件内容（{detected}）不符。",
            en="The file name ends in {suffix} but its content is {detected}.",
            suffix=suffix, detected=detected)
    return detected
