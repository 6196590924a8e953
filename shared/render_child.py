"""The render process of review and documents: `python -m shared.render_child`.

Everything either service does to the inside of a PDF it shows happens here, under
`shared.sandbox`'s limits (address space, CPU and wall time per job): cutting out a page,
stamping watermarks, drawing a page with poppler's `pdftoppm` (which inherits the limits). The
web and worker processes only move files. A file above the page limit is refused after qpdf
counts its pages (lazily, about half a second for 100,000 pages), before any page is parsed.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

from shared.sandbox import answer_channel, serve

RENDER_WIDTH = 1240  # pixels: sharp on a desktop, scaled down by the page for 360 px


def main() -> int:
    channel = answer_channel()  # before any library is imported
    logging.basicConfig(level=logging.WARNING)
    # Import the readers before the memory cap, so the cap measures the work, not the imports.
    import pikepdf

    from shared.watermark import WatermarkFailed, watermark_pdf

    def opened(path: str, max_pages: int) -> tuple[Any, dict[str, Any] | None]:
        try:
            pdf = pikepdf.open(path, password="", suppress_warnings=True)
        except pikepdf.PasswordError:
            return None, {"refused": "encrypted"}
        except (pikepdf.PdfError, ValueError, RuntimeError) as exc:
            return None, {"refused": "unreadable", "detail": str(exc)[:200]}
        pages = len(pdf.pages)
        if 0 < max_pages < pages:
            pdf.close()
            return None, {"refused": "too_many_pages", "pages": pages}
        return pdf, None

    def page(job: dict[str, Any], folder: Path) -> dict[str, Any]:
        pdf, refused = opened(job["source"], int(job["max_pages"]))
        if refused:
            return refused
        with pdf:
            pages, number = len(pdf.pages), int(job["number"])
            if not 1 <= number <= pages:
                return {"refused": "no_such_page", "pages": pages}
            single = pikepdf.new()
            single.pages.append(pdf.pages[number - 1])
            cut = folder / "cut.pdf"
            single.save(cut)
        drawn = folder / "page.pdf"
        if job.get("stamp") is None:
            drawn = cut
        else:
            with cut.open("rb") as source, drawn.open("wb") as target:
                try:
                    watermark_pdf(source, target, job["stamp"], job.get("font"))
                except WatermarkFailed as exc:
                    return {"refused": "unreadable", "detail": str(exc)[:200]}
        done = subprocess.run(
            ["pdftoppm", "-png", "-singlefile", "-scale-to-x", str(RENDER_WIDTH),
             "-scale-to-y", "-1", str(drawn), str(folder / "page")],
            capture_output=True, timeout=float(job["seconds"]), check=False)
        picture = folder / "page.png"
        if done.returncode != 0 or not picture.is_file():
            return {"refused": "unreadable",
                    "detail": done.stderr.decode(errors="replace")[:200]}
        picture.rename(job["target"])
        return {"pages": pages}

    def stamp(job: dict[str, Any]) -> dict[str, Any]:
        pdf, refused = opened(job["source"], int(job["max_pages"]))
        if refused:
            return refused
        pdf.close()
        with open(job["source"], "rb") as source, open(job["target"], "wb") as target:
            try:
                pages = watermark_pdf(source, target, job["stamp"], job.get("font"))
            except WatermarkFailed as exc:
                return {"refused": "unreadable", "detail": str(exc)[:200]}
        return {"pages": pages}

    def count(job: dict[str, Any]) -> dict[str, Any]:
        pdf, refused = opened(job["source"], 0)
        if refused:
            return refused
        with pdf:
            return {"pages": len(pdf.pages)}

    def handle(job: dict[str, Any], seconds: float) -> dict[str, Any]:
        job = {**job, "seconds": seconds}
        if job["op"] == "page":
            return page(job, Path(job["target"]).parent)
        if job["op"] == "stamp":
            return stamp(job)
        return count(job)

    return serve(channel, handle)


if __name__ == "__main__":
    sys.exit(main())
