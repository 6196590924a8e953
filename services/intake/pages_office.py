"""Recommenders' queue and the operator's formal review and acceptance lists."""

from __future__ import annotations

from shared.web.pages import PageBlueprint

blp = PageBlueprint("intake_office_pages", __name__)
