"""The sandboxed inspector process: `python -m services.documents.sandbox_child`.

Reads one job per line on stdin (JSON: path and options), answers one verdict per line. Its
address space is capped for its whole life and its CPU time per job, so a hostile file ends this
process, never the worker; the parent (`sandbox.Sandbox`) replaces it. Nothing but verdicts is
ever written to the answer channel: stdout is moved aside before any library is imported.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import sys
from pathlib import Path


def _answer_channel() -> int:
    channel = os.dup(1)
    os.dup2(2, 1)  # anything a library prints goes to stderr, never into the protocol
    return channel


def _limit_memory(limit: int) -> None:
    if limit > 0:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _limit_cpu(seconds: float) -> None:
    # CPU time accumulates over the child's life; each job gets its own allowance on top.
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = usage.ru_utime + usage.ru_stime
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = int(used + seconds) + 1
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def main() -> int:
    channel = _answer_channel()
    memory = int(os.environ.get("DOSSIER_SANDBOX_MEMORY", "0"))
    logging.basicConfig(level=logging.CRITICAL)
    # Import the readers before the memory cap, so the cap measures the work, not the imports.
    import docx  # noqa: F401  (warm: every DOCX job needs it)

    from services.documents.inspection import Options, inspect_file
    from services.documents.limits import ZipLimits
    from services.documents.verdict import failed
    _limit_memory(memory)
    out = os.fdopen(channel, "w", encoding="utf-8", buffering=1)
    for line in sys.stdin:
        exit_after = False
        try:
            job = json.loads(line)
            _limit_cpu(float(job.get("cpu_seconds", 60)))
            # Text gets at most half the file's time, so a slow text layer still leaves
            # time to answer with the structure.
            options = Options(text=str(job.get("text", "full")),
                              text_seconds=float(job.get("cpu_seconds", 60)) / 2,
                              zip=ZipLimits(**job.get("zip", {})))
            verdict = inspect_file(Path(job["path"]), options).as_dict()
        except MemoryError:
            verdict, exit_after = failed("inspect.memory").as_dict(), True
        except RecursionError:
            verdict = failed("inspect.too_deep").as_dict()
        except Exception as exc:  # a reader bug is a verdict on this file, not a dead worker
            verdict = failed("inspect.crashed", detail=f"{type(exc).__name__}: {exc}").as_dict()
        try:
            out.write(json.dumps(verdict, ensure_ascii=False) + "\n")
        except MemoryError:
            out.write('{"ok": false, "error": {"code": "inspect.memory"}}\n')
            exit_after = True
        if exit_after:
            return 3  # memory may be fragmented or half-freed: start clean
    return 0


if __name__ == "__main__":
    sys.exit(main())
