"""Rewrite the README's configuration table from shared/config.py (run after adding a setting)."""

from pathlib import Path

from shared.config import markdown_table

readme = Path(__file__).resolve().parent.parent / "README.md"
text = readme.read_text(encoding="utf-8")
start = text.index("| variable | default | meaning |")
end = text.index("\n\n", start)
readme.write_text(text[:start] + markdown_table() + text[end:], encoding="utf-8")
