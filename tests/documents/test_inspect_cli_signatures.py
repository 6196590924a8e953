"""`dossier inspect --signatures`: an office checks a folder's signatures before any upload."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import builders as b
import ofd_files as of
import signed_files as sf

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOSSIER_")}
    return subprocess.run([sys.executable, "-m", "dossier.cli", "inspect", *args],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=180,
                          check=False)


def _folder(tmp_path: Path) -> Path:
    signed = sf.signed_pdf(page=1, pages=1)
    files = {"1-已签名.pdf": signed, "2-签后改动.pdf": sf.tampered(signed),
             "3-未签名.pdf": b.report_pdf(), "4-电子证照.ofd": of.ofd_file([["证照"]], True),
             "5-申报书.wps": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 1024}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    return tmp_path


def test_signatures_are_printed_under_each_file_in_words(tmp_path: Path) -> None:
    result = _run("--signatures", "--jobs", "1", str(_folder(tmp_path)))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].endswith("1-已签名.pdf")
    assert lines[1].strip().startswith("签名 1: 签名有效")
    assert "证书未经信任链验证" in lines[1] and sf.SIGNER_NAME in lines[1]
    assert lines[2].endswith("2-签后改动.pdf")
    assert lines[3].strip().startswith("签名 1: 签名无效") and "摘要不符" in lines[3]
    assert lines[4].endswith("3-未签名.pdf") and lines[5].strip() == "无数字签名"
    assert lines[6].endswith("4-电子证照.ofd")
    assert lines[7].strip().startswith("签名 1: 签名无法验证") and "SM2" in lines[7]
    # A refused file gets its refusal, and no claim about signatures it never had read.
    assert lines[8].startswith("inspect.wps_format") and len(lines) == 9


def test_without_the_flag_the_listing_stays_one_line_per_file_and_json_has_them(
        tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    plain = _run("--jobs", "1", str(folder))
    assert plain.returncode == 0 and len(plain.stdout.splitlines()) == 5
    result = _run("--json", "--jobs", "1", str(folder))
    found = {Path(line["path"]).name: line for line in map(json.loads, result.stdout.splitlines())}
    assert [s["state"] for s in found["1-已签名.pdf"]["signatures"]] == ["valid"]
    assert [s["state"] for s in found["4-电子证照.ofd"]["signatures"]] == ["unverifiable"]
    assert found["3-未签名.pdf"]["signatures"] == []
