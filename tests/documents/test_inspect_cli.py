"""`dossier inspect`: the same inspection on local files, as operators and scripts run it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import builders as b
import pytest

from services.documents import inspect_cli

DOSSIER = [sys.executable, "-m", "dossier.cli"]
ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOSSIER_")}
    return subprocess.run([*DOSSIER, "inspect", *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=120, check=False)


def test_json_output_is_one_object_per_file_and_exit_is_zero_whatever_the_verdicts(
        tmp_path: Path) -> None:
    files = {"report.pdf": b.report_pdf(), "locked.pdf": b.encrypted_pdf("pw"),
             "virus.pdf": b.executable_named_pdf(), "empty.docx": b"",
             "bomb.docx": b.many_entries_docx(), "notes.docx": b.docx_file([("正文", None)])}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    result = _run("--json", *(str(tmp_path / n) for n in files))
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [Path(line["path"]).name for line in lines] == list(files)
    for line in lines:
        assert {"path", "format", "ok", "pages", "encrypted", "error"} <= set(line)
        assert line["error"] is None or set(line["error"]) == {"code", "message"}
    by_name = {Path(line["path"]).name: line for line in lines}
    assert (by_name["report.pdf"]["ok"], by_name["report.pdf"]["pages"]) == (True, 7)
    assert by_name["locked.pdf"]["encrypted"] is True
    assert by_name["locked.pdf"]["error"]["code"] == "inspect.encrypted"
    assert by_name["virus.pdf"]["error"]["code"] == "inspect.executable"
    assert by_name["empty.docx"]["error"]["code"] == "inspect.empty"
    assert by_name["bomb.docx"]["error"]["code"] == "inspect.zip_bomb"
    assert by_name["notes.docx"]["ok"] is True and by_name["notes.docx"]["format"] == "docx"
    assert all(isinstance(line["pages"], int | None) for line in lines)


def test_a_folder_is_walked_and_plain_output_is_one_line_per_file(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.pdf").write_bytes(b.scan_pdf(2))
    (tmp_path / "sub" / "b.pdf").write_bytes(b.truncated_pdf())
    result = _run(str(tmp_path))
    assert result.returncode == 0, result.stderr
    out = result.stdout.splitlines()
    assert len(out) == 2
    assert out[0].split()[:3] == ["ok", "pdf", "2"]
    assert out[1].split()[0] == "inspect.truncated"


def test_a_path_that_cannot_be_read_exits_non_zero_but_still_gets_its_line(
        tmp_path: Path) -> None:
    (tmp_path / "a.pdf").write_bytes(b.report_pdf())
    result = _run("--json", str(tmp_path / "a.pdf"), str(tmp_path / "missing.pdf"))
    assert result.returncode == 1
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["ok"] for line in lines] == [True, False]
    assert lines[1]["error"]["code"] == "inspect.unreadable"


def test_it_starts_one_sandboxed_inspector_per_core_by_default(
        monkeypatch: pytest.MonkeyPatch) -> None:
    sizes: list[int] = []

    class Recording(inspect_cli.SandboxPool):
        def __init__(self, size: int, *args: Any, **kwargs: Any) -> None:
            sizes.append(size)
            super().__init__(size, *args, **kwargs)

    monkeypatch.setattr(inspect_cli, "SandboxPool", Recording)
    assert inspect_cli.main(["--json", "/nonexistent/x.pdf"], environ={}) == 1
    assert sizes == [os.cpu_count() or 1]
