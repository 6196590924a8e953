"""Signed PDFs for the signature tests, signed here with a self-made certificate."""

from __future__ import annotations

import datetime as dt
import io

from asn1crypto import keys as akeys
from asn1crypto import x509 as ax509
from builders import text_pdf
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers

SIGNER_NAME = "示例科技有限公司"
_KEY = ec.generate_private_key(ec.SECP256R1())


def _signer() -> signers.SimpleSigner:
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, SIGNER_NAME),
                      x509.NameAttribute(NameOID.COMMON_NAME, "张三")])
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(_KEY.public_key()).serial_number(7).not_valid_before(start)
            .not_valid_after(start + dt.timedelta(days=3650)).sign(_KEY, hashes.SHA256()))
    der_key = _KEY.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())
    return signers.SimpleSigner(
        signing_cert=ax509.Certificate.load(cert.public_bytes(serialization.Encoding.DER)),
        signing_key=akeys.PrivateKeyInfo.load(der_key), cert_registry=None)


def signed_pdf(page: int = 2, pages: int = 2, base: bytes | None = None,
               field: str = "单位签章") -> bytes:
    """A PDF of `pages` pages signed by the tests' certificate, its widget on `page`."""
    pdf = base if base is not None else text_pdf([[f"申报书第{i + 1}页"] for i in range(pages)])
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    fields.append_signature_field(writer, fields.SigFieldSpec(field, on_page=page - 1,
                                                              box=(100, 100, 250, 200)))
    out = io.BytesIO()
    signers.sign_pdf(writer, signers.PdfSignatureMetadata(field_name=field), signer=_signer(),
                     output=out)
    return out.getvalue()


def tampered(signed: bytes) -> bytes:
    """The signed file with one byte inside its first stream (signed bytes) changed in place."""
    at = signed.index(b"stream\n") + 20
    changed = bytearray(signed)
    changed[at] = (changed[at] + 1) % 256
    return bytes(changed)


def modified_after_signing(signed: bytes) -> bytes:
    """The signed file with an incremental update that replaces page 1's content."""
    writer = IncrementalPdfFileWriter(io.BytesIO(signed))
    page_ref, _ = writer.find_page_for_modification(0)
    stream = generic.StreamObject(stream_data=b"BT /F1 24 Tf 72 700 Td (CHANGED) Tj ET")
    page = page_ref.get_object()
    page[generic.NameObject("/Contents")] = writer.add_object(stream)
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def gm_signed_pdf() -> bytes:
    """A PDF with a filled signature field whose contents name SM2-with-SM3 (GB/T 38540 style).

    Not a real SES signature: enough to show such a seal is reported as one we cannot verify.
    """
    writer = IncrementalPdfFileWriter(io.BytesIO(text_pdf([["承诺书"]])))
    sm2_with_sm3 = bytes.fromhex("06082a811ccf5501837530")  # OID 1.2.156.10197.1.501
    contents = (b"\x30\x0c" + sm2_with_sm3 + b"\x05\x00").ljust(256, b"\x00")
    sig = generic.DictionaryObject({
        generic.NameObject("/Type"): generic.NameObject("/Sig"),
        generic.NameObject("/Filter"): generic.NameObject("/Adobe.PPKLite"),
        generic.NameObject("/SubFilter"): generic.NameObject("/adbe.pkcs7.detached"),
        generic.NameObject("/ByteRange"): generic.ArrayObject(
            [generic.NumberObject(n) for n in (0, 10, 20, 10)]),
        generic.NameObject("/Contents"): generic.ByteStringObject(contents)})
    page_ref, _ = writer.find_page_for_modification(0)
    widget = generic.DictionaryObject({
        generic.NameObject("/Type"): generic.NameObject("/Annot"),
        generic.NameObject("/Subtype"): generic.NameObject("/Widget"),
        generic.NameObject("/FT"): generic.NameObject("/Sig"),
        generic.NameObject("/T"): generic.TextStringObject("电子签章"),
        generic.NameObject("/Rect"): generic.ArrayObject(
            [generic.NumberObject(n) for n in (100, 100, 220, 220)]),
        generic.NameObject("/P"): page_ref,
        generic.NameObject("/V"): writer.add_object(sig)})
    widget_ref = writer.add_object(widget)
    page = page_ref.get_object()
    page[generic.NameObject("/Annots")] = generic.ArrayObject([widget_ref])
    writer.update_container(page)
    writer.root[generic.NameObject("/AcroForm")] = generic.DictionaryObject({
        generic.NameObject("/Fields"): generic.ArrayObject([widget_ref]),
        generic.NameObject("/SigFlags"): generic.NumberObject(3)})
    writer.update_root()
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
