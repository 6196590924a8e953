"""The sandboxed inspector process: `python -m services.documents.sandbox_child`.

Answers one verdict per job (JSON lines, `shared.sandbox.serve`). Its address space is capped
for its whole life and its CPU time per job, so a hostile file ends this process, never the
worker; the parent (`sandbox.Sandbox`) replaces it.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from pathlib import Path
from typing import Any

from shared.sandbox import answer_channel, serve


def main() -> int:
    channel = answer_channel()  # before any library is imported
    # One thread for NumPy's BLAS and OpenCV's OpenMP: each extra thread reserves stack and
    # heap arenas that count against the address-space cap (about 430 MiB of it for two).
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    logging.basicConfig(level=logging.CRITICAL)
    # Import the readers before the memory cap, so the cap measures the work, not the imports.
    import docx  # noqa: F401  (warm: every DOCX job needs it)
    with warnings.catch_warnings():  # pyHanko imports cryptography's deprecated DSA
        warnings.simplefilter("ignore")
        import pyhanko.sign.validation  # noqa: F401  (warm: every PDF's signatures are read)

    from services.documents import seal_pages

    seal_pages.warm()  # OpenCV and PDFium, loaded and single-threaded before the cap

    from services.documents.inspection import Options, inspect_file
    from services.documents.limits import ZipLimits

    def handle(job: dict[str, Any], seconds: float) -> dict[str, Any]:
        # Text gets at most half the file's time and seals a quarter, so a slow text layer or
        # a long scan still leaves time to answer with the structure.
        options = Options(text=str(job.get("text", "full")), text_seconds=seconds / 2,
                          max_pages=int(job.get("max_pages") or 0),
                          zip=ZipLimits(**job.get("zip", {})),
                          seals=bool(job.get("seals")), seal_seconds=seconds / 4)
        return inspect_file(Path(job["path"]), options).as_dict()

    return serve(channel, handle)


if __name__ == "__main__":
    sys.exit(main())
