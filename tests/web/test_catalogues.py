"""Every page string has a Chinese translation, and the Chinese catalogue really loads."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from shared.web.i18n import Catalogues

ROOT = Path(__file__).resolve().parents[2]


def test_no_page_string_is_left_untranslated() -> None:
    run = subprocess.run([sys.executable, str(ROOT / "tools" / "i18n.py"), "check"],
                         capture_output=True, text=True, cwd=ROOT, check=False)
    assert run.returncode == 0, run.stdout + run.stderr


def test_chinese_catalogue_loads_under_the_name_babel_resolves() -> None:
    catalogues = Catalogues([], strict=True)
    assert catalogues.gettext("zh-CN", "Sign in") == "登录"
    assert catalogues.gettext("en", "Sign in") == "Sign in"
    assert catalogues.gettext("zh-CN", "a string nobody translated") == \
        "[[untranslated: a string nobody translated]]"
