"""`make bench`: start a private stack, run every benchmark, print `<name>: ratio=<x> …` lines.

Ratios compare against a baseline measured in the same run on the same machine, so noisy
machines still give comparable numbers; no benchmark asserts an absolute time.
"""

from __future__ import annotations

import importlib
import pkgutil
import shutil
import sys
import tempfile
import traceback
from dataclasses import dataclass
from pathlib import Path

import bench
from dossier.localstack import BackingServers


@dataclass
class BenchEnv:
    root: Path
    backing: BackingServers


def main(only: list[str] | None = None) -> int:
    """Run every benchmark, or only those named (`python -m bench outbox upload`)."""
    root = Path(tempfile.mkdtemp(prefix="dossier-bench-"))
    backing = BackingServers(root=root / "backing")
    failed = 0
    try:
        backing.start_redis()
        backing.start_s3()
        backing.start_postgres(databases=[])
        env = BenchEnv(root, backing)
        for info in sorted(pkgutil.iter_modules(bench.__path__), key=lambda m: m.name):
            if info.name.startswith("_") or (only and info.name not in only):
                continue
            module = importlib.import_module(f"bench.{info.name}")
            try:
                for line in module.run(env):
                    print(line, flush=True)
            except Exception:
                failed += 1
                print(f"{info.name}: failed", flush=True)
                traceback.print_exc()
    finally:
        backing.stop()
        shutil.rmtree(root, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
