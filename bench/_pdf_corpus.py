"""A corpus of PDFs for the page-count agreement test and the inspect benchmark.

Generated on the spot (nothing binary is committed) from several writers — reportlab, pypdf,
qpdf (pikepdf) — in the shapes real uploads take: text reports, scanned pages, mixed sizes,
outlines, object streams, linearised files, deep page trees, encrypted files, incremental
updates; then damaged copies of them as uploads arrive damaged: truncated, broken xref, wrong
/Count, garbage appended. PDFs the machine already has (documentation under /usr/share, package
data in the virtualenv) are added when present.
"""

from __future__ import annotations

import io
import random
import sys
from collections.abc import Iterator
from pathlib import Path

import pikepdf
from PIL import Image
from pypdf import PdfReader, PdfWriter
from reportlab.lib.pagesizes import A3, A4, A5, landscape, letter
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas

_SIZES = (A4, A4, A4, letter, A5, A3, landscape(A4))
_WORDS = ["quality", "leadership", "strategy", "customers", "market", "resources",
          "process", "measurement", "analysis", "improvement", "results", "innovation",
          "brand", "standard"]


def _report(rng: random.Random, pages: int, compress: bool, scanned_every: int = 0) -> bytes:
    out = io.BytesIO()
    size = rng.choice(_SIZES)
    pdf = canvas.Canvas(out, pagesize=size, pageCompression=int(compress))
    scan = None
    if scanned_every:
        img = Image.effect_noise((160, 220), rng.randint(20, 80)).convert("L")
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=40)
        scan = ImageReader(io.BytesIO(buf.getvalue()))
    for p in range(pages):
        if scan is not None and p % scanned_every == 0:
            pdf.drawImage(scan, 0, 0, width=size[0], height=size[1])
        else:
            pdf.bookmarkPage(f"p{p}")
            if p % 5 == 0:
                pdf.addOutlineEntry(f"{p // 5 + 1}. Section", f"p{p}", level=0)
            for line in range(rng.randint(5, 45)):
                pdf.drawString(50, size[1] - 60 - line * 16,
                               " ".join(rng.choice(_WORDS) for _ in range(10)))
        pdf.showPage()
    pdf.save()
    return out.getvalue()


def _pypdf_blank(rng: random.Random, pages: int) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        w, h = rng.choice(_SIZES)
        writer.add_blank_page(width=w, height=h)
    if rng.random() < 0.5:
        writer.add_outline_item(title="Start", page_number=0)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _encrypted(base: bytes, rng: random.Random) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(base)))
    algorithm = rng.choice(["RC4-128", "AES-128", "AES-256"])
    writer.encrypt(user_password="", owner_password="owner-secret",  # noqa: S106 (a test file)
                   algorithm=algorithm)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _qpdf_variant(base: bytes, mode: str) -> bytes:
    out = io.BytesIO()
    with pikepdf.open(io.BytesIO(base)) as pdf:
        if mode == "objstreams":
            pdf.save(out, object_stream_mode=pikepdf.ObjectStreamMode.generate)
        elif mode == "linearized":
            pdf.save(out, linearize=True)
        elif mode == "qdf":
            pdf.save(out, qdf=True, compress_streams=False)
        elif mode == "deep-tree":
            _nest_page_tree(pdf)
            pdf.save(out)
    return out.getvalue()


def _nest_page_tree(pdf: pikepdf.Pdf) -> None:
    """Rebuild /Pages as a tree of nodes with 2–3 kids each (as big producers write them)."""
    leaves = [page.obj for page in pdf.pages]
    level: list[pikepdf.Dictionary] = leaves
    while len(level) > 3:
        parents = []
        for i in range(0, len(level), 3):
            kids = level[i:i + 3]
            node = pdf.make_indirect(pikepdf.Dictionary(
                Type=pikepdf.Name.Pages, Kids=pikepdf.Array(kids),
                Count=sum(int(k.get("/Count", 1)) for k in kids)))
            for kid in kids:
                kid.Parent = node
            parents.append(node)
        level = parents
    root = pdf.Root.Pages
    root.Kids = pikepdf.Array(level)
    for kid in level:
        kid.Parent = root
    root.Count = len(leaves)


def _incremental(base: bytes, extra_pages: int) -> bytes:
    writer = PdfWriter(io.BytesIO(base), incremental=True)
    for _ in range(extra_pages):
        writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def damaged(base: bytes, mode: str, rng: random.Random) -> bytes:
    if mode == "truncated":
        return base[: int(len(base) * rng.uniform(0.5, 0.97))]
    if mode == "no-eof":
        return base[: base.rfind(b"%%EOF")]
    if mode == "broken-xref":
        at = base.rfind(b"startxref")
        return base[:at] + b"startxref\n" + str(rng.randint(10, len(base) // 2)).encode() + \
            b"\n%%EOF\n"
    if mode == "wrong-count":
        return _set_count(base, rng.choice([-1, 1, 5, 9999]))
    if mode == "garbage-tail":
        return base + bytes(rng.getrandbits(8) for _ in range(rng.randint(10, 3000)))
    raise ValueError(mode)


def _set_count(base: bytes, delta: int) -> bytes:
    """The page tree's /Count rewritten in place to disagree with its leaves."""
    out = io.BytesIO()
    with pikepdf.open(io.BytesIO(base)) as pdf:
        pages = len(pdf.pages)
        pdf.save(out, qdf=True, object_stream_mode=pikepdf.ObjectStreamMode.disable)
    data = out.getvalue()
    old = b"/Count %d\n" % pages
    return data.replace(old, b"/Count %d\n" % max(pages + delta, 1), 1)


def machine_pdfs(limit: int = 200) -> Iterator[Path]:
    roots = [Path("/usr/share/doc"), Path("/usr/share"), Path(sys.prefix)]
    seen: set[Path] = set()
    for root in roots:
        if not root.is_dir():
            continue
        for path in root.rglob("*.pdf"):
            real = path.resolve()
            if real in seen or not real.is_file() or real.stat().st_size > 50 * 1024 * 1024:
                continue
            seen.add(real)
            yield real
            if len(seen) >= limit:
                return


def build(folder: Path, count: int = 300, seed: int = 20250301,
          damaged_share: float = 0.3, include_machine: bool = True) -> list[Path]:
    """Write about `count` PDFs into `folder`; returns their paths."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []

    def put(name: str, data: bytes) -> None:
        path = folder / f"{len(paths):04d}-{name}.pdf"
        path.write_bytes(data)
        paths.append(path)

    if include_machine:
        for i, path in enumerate(machine_pdfs()):
            put(f"machine{i}", path.read_bytes())
    bases: list[bytes] = []
    while len(paths) < count:
        kind = rng.random()
        if kind < 0.45:
            data = _report(rng, rng.choice([1, 2, 3, 8, 20, 40, 90]), rng.random() < 0.7,
                           scanned_every=rng.choice([0, 0, 0, 1, 4]))
            name = "report"
        elif kind < 0.6:
            data = _pypdf_blank(rng, rng.randint(1, 60))
            name = "pypdf"
        elif kind < 0.8 and bases:
            mode = rng.choice(["objstreams", "linearized", "qdf", "deep-tree"])
            data, name = _qpdf_variant(rng.choice(bases), mode), mode
        elif kind < 0.88 and bases:
            data, name = _encrypted(rng.choice(bases), rng), "encrypted"
        elif bases:
            data, name = _incremental(rng.choice(bases), rng.randint(1, 4)), "incremental"
        else:
            continue
        if name != "encrypted":
            bases.append(data)
        put(name, data)
        if rng.random() < damaged_share:
            mode = rng.choice(["truncated", "no-eof", "broken-xref", "wrong-count",
                               "garbage-tail"])
            put(f"damaged-{mode}", damaged(data, mode, rng))
    return paths
