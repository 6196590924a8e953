"""No import cycles in `shared/`: every module imports on its own, first, and no import — at the
top or late inside a function — leads back to the module it starts from (a late import that
"binds late" is a cycle patched, not broken)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _modules(package: str) -> dict[str, Path]:
    found = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _is_package(name: str, modules: dict[str, Path]) -> bool:
    return modules[name].name == "__init__.py"


def _imports(name: str, modules: dict[str, Path]) -> set[str]:
    """The project modules `name` imports anywhere in its body (relative imports resolved, a
    `from package import submodule` counted as the submodule)."""
    tree = ast.parse(modules[name].read_text(encoding="utf-8"))
    base = name if _is_package(name, modules) else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            origin = node.module or ""
            if node.level:
                anchor = base.split(".")[: len(base.split(".")) - node.level + 1]
                origin = ".".join([*anchor, origin] if origin else anchor)
            targets = [f"{origin}.{a.name}" if f"{origin}.{a.name}" in modules else origin
                       for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target:
                out.add(target)
    return out


def _related(a: str, b: str) -> bool:
    """A package and a module inside it: importing one from the other is how packages work."""
    return a == b or a.startswith(b + ".") or b.startswith(a + ".")


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if nxt not in state and (found := visit(nxt)) is not None:
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)) is not None:
            return found
    return None


def test_shared_has_no_import_cycle() -> None:
    modules = _modules("shared")
    graph = {m: {t for t in _imports(m, modules) if not _related(m, t)} for m in modules}
    cycle = _cycle(graph)
    assert cycle is None, " -> ".join(cycle or [])


def test_every_shared_module_imports_first_and_alone() -> None:
    # One interpreter, our modules forgotten before each import (third-party ones stay loaded,
    # which keeps this fast): each module must import when nothing of ours is loaded yet.
    script = (
        "import importlib, sys\n"
        "failed = []\n"
        "for name in sys.argv[1:]:\n"
        "    for loaded in [m for m in sys.modules if m == 'shared' or m.startswith('shared.')]:\n"
        "        del sys.modules[loaded]\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except Exception as exc:\n"
        "        failed.append(f'{name}: {type(exc).__name__}: {exc}')\n"
        "print('\\n'.join(failed))\n"
        "sys.exit(1 if failed else 0)\n")
    names = list(_modules("shared"))
    result = subprocess.run([sys.executable, "-c", script, *names], capture_output=True,
                            text=True, cwd=ROOT, check=False, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
