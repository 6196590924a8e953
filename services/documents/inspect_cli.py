"""`dossier inspect [--json] [--seals] PATH...`: the service's inspection on local files.

Same sandboxed inspector and limits as the worker, one child per core. `--seals` also looks
for official seals (公章) and name seals (名章) on every page of PDFs and scans, and prints them
page by page, as the service records them. Reads only the documents
settings from the environment, so it runs without the service's secrets. Exit status: 0 when
every file got a verdict (whatever the verdicts), 1 when some path could not be read at all.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from services.documents.sandbox import SandboxPool, limits_from
from services.documents.signatures import printed
from shared.config import SETTINGS


def _documents_settings(environ: Mapping[str, str]) -> SimpleNamespace:
    values = {}
    for setting in SETTINGS:
        if setting.attr.startswith("documents_") and setting.attr != "documents_database_url":
            raw = environ.get(setting.env) or setting.default
            values[setting.attr] = setting.parse(raw) if raw else None
    return SimpleNamespace(**values)


def _files(paths: Sequence[str]) -> Iterator[Path]:
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file())
        else:
            yield path


def summary(path: Path, verdict: Mapping[str, Any]) -> dict[str, Any]:
    error = verdict.get("error")
    line = {
        "path": str(path), "format": verdict.get("format"), "ok": bool(verdict.get("ok")),
        "pages": verdict.get("pages"), "encrypted": bool(verdict.get("encrypted")),
        "error": None if not error else {"code": error["code"], "message": error["message"]},
        "text_layer": verdict.get("text_layer"), "scanned": verdict.get("scanned"),
        "characters": verdict.get("characters"), "javascript": verdict.get("javascript"),
        "embedded_files": verdict.get("embedded_files"),
        # null, not [], when no text was read: "none found" would be a claim we did not check
        "classification_marks": None if verdict.get("text_scope", "none") == "none" else
        [m["mark"] for m in verdict.get("classification_marks", [])],
        "page_size": (verdict.get("page_size") or {}).get("name"),
        "reader": verdict.get("reader"), "warnings": verdict.get("warnings", []),
        "signatures": verdict.get("signatures", []),
    }
    # null when not looked for (no --seals, or a file with no pages to draw: DOCX, refused)
    line["seals"] = verdict.get("seals")
    return line


_KINDS = {"official": "公章", "name": "名章"}
_SHAPES = {"round": "圆形", "oval": "椭圆", "square": "方形"}


def seal_lines(facts: Mapping[str, Any] | None) -> list[str]:
    """The seals of one file, a line per page that has any (what an office checks by eye)."""
    if not facts:
        return ["    印章：不适用（非 PDF 或图片）"]
    lines = []
    for page in facts.get("pages") or []:
        found = "；".join(
            f"{_KINDS.get(s['kind'], s['kind'])} {_SHAPES.get(s['shape'], s['shape'])} "
            f"{s['size_mm'][0]:.0f}×{s['size_mm'][1]:.0f} mm 中心 ({s['centre_mm'][0]:.0f}, "
            f"{s['centre_mm'][1]:.0f}) mm 置信度 {s['confidence']:.2f}" for s in page["seals"])
        lines.append(f"    第 {page['page']} 页：{found}")
    official = sum(1 for page in facts.get("pages") or [] for s in page["seals"]
                   if s["kind"] == "official")
    tail = f"    印章：查看 {facts.get('pages_checked', 0)} 页，{official} 枚公章"
    if not facts.get("complete"):
        tail += "（未查完：" + (facts.get("error") or "超出时限或页数上限") + "）"
    return [*lines, tail]


def print_signatures(line: Mapping[str, Any]) -> None:
    """The file's digital signatures, one indented line each (zh-CN, as an office reads);
    nothing for a file that was refused (its signatures were never looked for)."""
    if not line.get("ok"):
        return
    checked = "pdf.signatures_not_read" not in (line.get("warnings") or [])
    for text in printed(list(line.get("signatures") or []), checked):
        print(f"    {text}")


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dossier inspect", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="+", metavar="PATH", help="files or folders")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument("--text", choices=["none", "sample", "full"], default="none",
                        help="how much text to read: none (default: structure, pages, text "
                             "layer from the content operators), sample (first pages: also "
                             "classification marks) or full (what the service does: counts, "
                             "headings and marks over every page)")
    parser.add_argument("--signatures", action="store_true",
                        help="print each file's digital signatures (PDF, OFD) under it: valid, "
                             "invalid, or not verifiable (SM2); --json always has them")
    parser.add_argument("--seals", action="store_true",
                        help="look for official and name seals on every page of PDFs and scans "
                             "and print them per page (page, kind, shape, size and centre in "
                             "millimetres from the top-left corner, confidence)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="inspector processes (default: every core)")
    args = parser.parse_args(argv)
    limits = limits_from(_documents_settings(os.environ if environ is None else environ))
    unreadable = 0
    with SandboxPool(args.jobs, limits) as pool:
        for path, verdict in pool.inspect_many(_files(args.paths), text=args.text,
                                               seals=args.seals):
            line = summary(path, verdict)
            if line["error"] and line["error"]["code"] == "inspect.unreadable":
                unreadable += 1
            if args.json:
                print(json.dumps(line, ensure_ascii=False), flush=False)
            else:
                status = "ok" if line["ok"] else line["error"]["code"]
                print(f"{status:24} {line['format'] or '-':8} "
                      f"{line['pages'] if line['pages'] is not None else '-':>6}  {path}")
                if args.signatures or args.seals:  # --seals: seals and signatures together
                    print_signatures(line)
                if args.seals and line["ok"]:
                    print("\n".join(seal_lines(line.get("seals"))))
    sys.stdout.flush()
    return 1 if unreadable else 0
