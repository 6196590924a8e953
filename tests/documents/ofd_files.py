"""OFD files (GB/T 33190) built by the tests: pages of text, an SM2 seal, hostile packages.

Self-contained (standard library and `cryptography` only), so the stack tests import it too.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import zipfile
from xml.sax.saxutils import escape

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

OFD_NS = "http://www.ofdspec.org/2016"
SM3 = "1.2.156.10197.1.401"
SM2_WITH_SM3 = "1.2.156.10197.1.501"
SEAL_UNIT = "忻州市示例机械有限公司"


def _sm3(data: bytes) -> bytes:
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize()


def _content(lines: list[str]) -> bytes:
    objects = "".join(
        f'<ofd:TextObject ID="{10 + i}" Boundary="20 {30 + i * 10} 170 8" Font="3" Size="5">'
        f'<ofd:TextCode X="0" Y="5">{escape(line)}</ofd:TextCode></ofd:TextObject>'
        for i, line in enumerate(lines))
    return (f'<?xml version="1.0" encoding="UTF-8"?><ofd:Page xmlns:ofd="{OFD_NS}">'
            f'<ofd:Content><ofd:Layer ID="2">{objects}</ofd:Layer></ofd:Content>'
            f'</ofd:Page>').encode()


def ofd_parts(pages: list[list[str]], signed: bool = False) -> dict[str, bytes]:
    """The parts of an OFD file: one list of text lines per page; with an SM2 seal if signed."""
    page_list = "".join(f'<ofd:Page ID="{100 + i}" BaseLoc="Pages/Page_{i}/Content.xml"/>'
                        for i in range(len(pages)))
    signatures = "<ofd:Signatures>Doc_0/Signs/Signatures.xml</ofd:Signatures>" if signed else ""
    parts = {
        "OFD.xml": (f'<?xml version="1.0" encoding="UTF-8"?><ofd:OFD xmlns:ofd="{OFD_NS}" '
                    f'Version="1.0" DocType="OFD"><ofd:DocBody><ofd:DocInfo>'
                    f'<ofd:DocID>0C1D4F7159954EEEDE517F7285E84DC4</ofd:DocID>'
                    f'<ofd:Title>电子证照</ofd:Title></ofd:DocInfo>'
                    f'<ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot>{signatures}'
                    f'</ofd:DocBody></ofd:OFD>').encode(),
        "Doc_0/Document.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><ofd:Document xmlns:ofd="{OFD_NS}">'
            f'<ofd:CommonData><ofd:MaxUnitID>200</ofd:MaxUnitID><ofd:PageArea>'
            f'<ofd:PhysicalBox>0 0 210 297</ofd:PhysicalBox></ofd:PageArea></ofd:CommonData>'
            f'<ofd:Pages>{page_list}</ofd:Pages></ofd:Document>').encode(),
    }
    for i, lines in enumerate(pages):
        parts[f"Doc_0/Pages/Page_{i}/Content.xml"] = _content(lines)
    if signed:
        parts.update(_ofd_seal(parts))
    return parts


def _ofd_seal(parts: dict[str, bytes]) -> dict[str, bytes]:
    refs = "".join(
        f'<ofd:Reference FileRef="/{name}"><ofd:CheckValue>'
        f'{base64.b64encode(_sm3(data)).decode()}</ofd:CheckValue>'
        f'</ofd:Reference>' for name, data in parts.items())
    signature = (
        f'<?xml version="1.0" encoding="UTF-8"?><ofd:Signature xmlns:ofd="{OFD_NS}">'
        f'<ofd:SignedInfo><ofd:Provider ProviderName="示例签章系统" Version="1.0"/>'
        f'<ofd:SignatureMethod>{SM2_WITH_SM3}</ofd:SignatureMethod>'
        f'<ofd:SignatureDateTime>20261130093000Z</ofd:SignatureDateTime>'
        f'<ofd:References CheckMethod="{SM3}">{refs}</ofd:References>'
        f'<ofd:StampAnnot ID="1" PageRef="100" Boundary="120 220 42 42"/>'
        f'</ofd:SignedInfo><ofd:SignedValue>/Doc_0/Signs/Sign_0/SignedValue.dat'
        f'</ofd:SignedValue></ofd:Signature>').encode()
    return {
        "Doc_0/Signs/Signatures.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><ofd:Signatures xmlns:ofd="{OFD_NS}">'
            f'<ofd:MaxSignId>1</ofd:MaxSignId><ofd:Signature ID="1" Type="Seal" '
            f'BaseLoc="Sign_0/Signature.xml"/></ofd:Signatures>').encode(),
        "Doc_0/Signs/Sign_0/Signature.xml": signature,
        "Doc_0/Signs/Sign_0/SignedValue.dat": ses_signature(),
    }


def _der(tag: int, body: bytes) -> bytes:
    size = len(body)
    length = bytes([size]) if size < 128 else \
        bytes([0x80 | ((size.bit_length() + 7) // 8)]) + size.to_bytes((size.bit_length() + 7) // 8)
    return bytes([tag]) + length + body


def ses_signature(unit: str = SEAL_UNIT) -> bytes:
    """The shape of a GB/T 38540 v4 SES_Signature: toSign, the signer's certificate (a
    self-made one naming `unit`), the SM2 algorithm and a signature value (not a real one)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, unit)])
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(9).not_valid_before(start)
            .not_valid_after(start + dt.timedelta(days=365)).sign(key, hashes.SHA256()))
    to_sign = _der(0x30, _der(0x02, b"\x04"))
    sm2 = _der(0x06, bytes.fromhex("2a811ccf55018375"))  # 1.2.156.10197.1.501
    return _der(0x30, to_sign + _der(0x04, cert.public_bytes(serialization.Encoding.DER)) +
                sm2 + _der(0x03, b"\x00" + b"\x01" * 64))


def ofd_file(pages: list[list[str]], signed: bool = False,
             replace: dict[str, bytes] | None = None) -> bytes:
    """An OFD file (a ZIP of the parts); `replace` swaps parts after signing (tampering)."""
    parts = ofd_parts(pages, signed)
    parts.update(replace or {})
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    return out.getvalue()


def ofd_zip_bomb(path: str, megabytes: int = 600) -> None:
    """An OFD whose one resource inflates to `megabytes` of zeros (a few hundred KB packed)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in ofd_parts([["正文"]]).items():
            zf.writestr(name, data)
        with zf.open("Doc_0/Res/bomb.png", "w", force_zip64=True) as fh:
            chunk = b"\x00" * (1024 * 1024)
            for _ in range(megabytes):
                fh.write(chunk)


def ofd_many_entries(entries: int = 6000) -> bytes:
    return ofd_file([["正文"]], replace={f"Doc_0/Res/e{i}.xml": b"<a/>" for i in range(entries)})


def ofd_xxe() -> bytes:
    """A page whose text is an external entity naming a local file."""
    page = (f'<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<!DOCTYPE p [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            f'<ofd:Page xmlns:ofd="{OFD_NS}"><ofd:Content><ofd:Layer ID="2">'
            f'<ofd:TextObject ID="10" Boundary="0 0 10 10" Font="3" Size="5">'
            f'<ofd:TextCode X="0" Y="5">&x;</ofd:TextCode></ofd:TextObject>'
            f'</ofd:Layer></ofd:Content></ofd:Page>').encode()
    return ofd_file([["正文"]], replace={"Doc_0/Pages/Page_0/Content.xml": page})


def ofd_billion_laughs() -> bytes:
    entities = "<!ENTITY l0 \"lol\">" + "".join(
        f'<!ENTITY l{i} "' + f"&l{i - 1};" * 10 + '">' for i in range(1, 10))
    document = (f'<?xml version="1.0"?>\n<!DOCTYPE d [{entities}]>'
                f'<ofd:Document xmlns:ofd="{OFD_NS}"><ofd:Pages>&l9;</ofd:Pages>'
                f'</ofd:Document>').encode()
    return ofd_file([["正文"]], replace={"Doc_0/Document.xml": document})


def ofd_with_template(labels: list[str], values: list[str]) -> bytes:
    """One page that draws on a template page (as e-invoices do: labels in the template)."""
    parts = ofd_parts([values])
    parts["Doc_0/Document.xml"] = parts["Doc_0/Document.xml"].replace(
        b"</ofd:PageArea>",
        b'</ofd:PageArea><ofd:TemplatePage ID="5" BaseLoc="Tpls/Tpl_0/Content.xml"/>')
    parts["Doc_0/Pages/Page_0/Content.xml"] = parts["Doc_0/Pages/Page_0/Content.xml"].replace(
        b"<ofd:Content>", b'<ofd:Template TemplateID="5"/><ofd:Content>')
    parts["Doc_0/Tpls/Tpl_0/Content.xml"] = _content(labels)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    return out.getvalue()
