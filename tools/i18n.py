"""Keep the message catalogues in step with the code: `python tools/i18n.py [update|check]`.

`update` extracts every marked string (`_()`, `N_()`, `ngettext()`, `{% trans %}`) from
`shared/web` and each service, merges it into that folder's zh_Hans_CN catalogue keeping existing
translations, drops strings no longer used, and lists the ones still untranslated. `check` only
lists them and fails when any is left (a test runs it).
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALE = "zh_Hans_CN"
METHODS = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
OPTIONS = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
# Pages translate their own text; this tool does not touch notify's message templates (YAML).
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}


def targets() -> dict[str, tuple[Path, Path]]:
    """name → (source folder, catalogue folder)."""
    found = {"shared": (ROOT / "shared" / "web", ROOT / "shared" / "web" / "translations")}
    for svc in ("intake", "documents", "review", "notify"):
        src = ROOT / "services" / svc
        if (src / "web" / "templates").is_dir():
            found[svc] = (src, src / "web" / "translations")
    return found


def po_path(folder: Path) -> Path:
    return folder / LOCALE / "LC_MESSAGES" / "messages.po"


def extract(src: Path) -> Catalog:
    template = Catalog(locale=LOCALE, project="Dossier")
    for filename, lineno, message, comments, context in extract_from_dir(
            str(src), METHODS, keywords=KEYWORDS, options_map=OPTIONS, strip_comment_tags=True):
        if "/migrations/" in f"/{filename}" or filename.startswith("translations"):
            continue
        template.add(message, None, [(filename, lineno)], auto_comments=comments,
                     context=context)
    return template


def load(path: Path) -> Catalog:
    if not path.exists():
        return Catalog(locale=LOCALE, project="Dossier")
    with path.open("rb") as fh:
        return read_po(fh, locale=LOCALE)


def untranslated(catalog: Catalog) -> list[str]:
    missing = []
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(strings):
            missing.append(message.id if isinstance(message.id, str) else message.id[0])
    return missing


def update(name: str, src: Path, folder: Path) -> list[str]:
    path = po_path(folder)
    catalog = load(path)
    catalog.update(extract(src), no_fuzzy_matching=True)
    catalog.obsolete.clear()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        # No locations: parallel edits of one catalogue then conflict only on real changes.
        write_po(fh, catalog, width=100, sort_output=True, no_location=True, omit_header=True)
    return untranslated(catalog)


def check(name: str, src: Path, folder: Path) -> list[str]:
    extracted = {m.id if isinstance(m.id, str) else m.id[0] for m in extract(src) if m.id}
    catalog = load(po_path(folder))
    known = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}
    return sorted(extracted - known) + untranslated(catalog)


def main(argv: list[str]) -> int:
    action = argv[1] if len(argv) > 1 else "check"
    only = set(argv[2:])
    failed = False
    for name, (src, folder) in targets().items():
        if only and name not in only:
            continue
        missing = (update if action == "update" else check)(name, src, folder)
        print(f"{name}: {len(missing)} untranslated")
        for msgid in missing:
            print(f"  - {msgid!r}")
        failed = failed or bool(missing)
    return 1 if failed and action == "check" else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
