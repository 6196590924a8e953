"""`make lint` type-checks: mypy (settings in pyproject.toml) runs as part of the test suite, so
a type error fails `make test` as a lint finding does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _mypy(*args: str) -> subprocess.CompletedProcess[str]:
    # The cache (`.venv/mypy-cache`, from pyproject.toml) makes a run after a small change take
    # a second or two; a cold run about 15 s on this machine.
    return subprocess.run([sys.executable, "-m", "mypy", *args], capture_output=True,
                          text=True, cwd=ROOT, check=False, timeout=600)


def test_mypy_finds_nothing() -> None:
    result = _mypy()
    assert result.returncode == 0, result.stdout + result.stderr


def test_storage_verbs_named_list_leave_the_builtin_to_annotations(tmp_path: Path) -> None:
    # `list` is a verb of the storage contract; inside the classes the name was the method, so
    # every `list[...]` annotation after it named the method and mypy checked nothing there.
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from shared.storage import ObjectStore, S3ObjectStore\n"
        "def f(store: ObjectStore, s3: S3ObjectStore) -> None:\n"
        "    reveal_type(store.versions('k'))\n"
        "    reveal_type(s3.list_parts('k', 'u'))\n"
        "    reveal_type(store.pending_multiparts())\n", encoding="utf-8")
    result = _mypy("--no-error-summary", str(probe))
    revealed = [line.split("Revealed type is ")[-1] for line in result.stdout.splitlines()
                if "Revealed type is" in line]
    assert revealed == ['"list[shared.storage.StoredObject]"',
                        '"list[shared.storage.PartInfo]"',
                        '"list[shared.storage.PendingMultipart]"'], result.stdout
    assert "error" not in result.stdout.replace("Revealed type", ""), result.stdout
