"""One vocabulary (issue 15, point 6): docs/glossary.md and the label registry agree, and the
catalogues, message templates and labels never use a word the glossary rules out."""

from __future__ import annotations

from pathlib import Path

import yaml
from babel.messages.pofile import read_po

from shared.labels import GLOSSARY, LABELS, Term

ROOT = Path(__file__).resolve().parents[2]
GLOSSARY_MD = ROOT / "docs" / "glossary.md"
CATALOGUES = sorted(p for p in ROOT.glob("*/**/zh_Hans_CN/LC_MESSAGES/messages.po")
                    if ".venv" not in p.parts)
TEMPLATES = ROOT / "services" / "notify" / "templates" / "messages.yaml"


def _split(cell: str, sep: str) -> tuple[str, ...]:
    return tuple(w.strip() for w in cell.split(sep) if w.strip())


def glossary_rows() -> list[Term]:
    rows = []
    for line in GLOSSARY_MD.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("|") or len(cells) != 5 or set(cells[0]) <= {"-"}:
            continue
        if cells[0].startswith("中文"):
            continue
        rows.append(Term(cells[0], cells[1], _split(cells[2], "；"), _split(cells[3], ";"),
                         cells[4]))
    return rows


def zh_texts() -> dict[str, str]:
    """Every zh-CN text people read that is kept as data: catalogue entries, message
    templates, the registry's labels."""
    texts: dict[str, str] = {}
    for po in CATALOGUES:
        with po.open("rb") as fh:
            for m in read_po(fh):
                for s in (m.string if isinstance(m.string, tuple) else (m.string,)):
                    if s:
                        texts[f"{po.relative_to(ROOT)}: {m.id!r}"] = s
    data = yaml.safe_load(TEMPLATES.read_text(encoding="utf-8"))
    for event, langs in data.items():
        for part, text in (langs.get("zh-CN") or {}).items():
            texts[f"messages.yaml {event}.{part}"] = str(text)
    for group, codes in LABELS.items():
        for code, (zh, _) in codes.items():
            texts[f"labels {group}.{code}"] = zh
    return texts


def test_the_glossary_file_and_the_registry_agree() -> None:
    assert glossary_rows() == list(GLOSSARY)


def test_each_term_has_one_row() -> None:
    zh = [t.zh for t in GLOSSARY]
    assert len(zh) == len(set(zh))


def test_no_text_uses_a_word_the_glossary_rules_out() -> None:
    texts = zh_texts()
    assert len(texts) > 500  # the catalogues were found
    found = [f"{where}: {word!r} (use {t.zh!r}) in {text!r}"
             for t in GLOSSARY for word in t.avoid_zh if "（" not in word
             for where, text in texts.items() if word in text]
    assert not found, "\n".join(found)


def test_the_check_would_see_the_words_the_issue_found() -> None:
    """The words issue 15 found are among those ruled out."""
    avoided = {w for t in GLOSSARY for w in t.avoid_zh}
    assert {"证书查验", "需关注", "待核", "%(n)s 对", "总分:", "UTC"} <= avoided
