"""The completeness report of a packet, as a page."""

from __future__ import annotations

from shared.web.pages import PageBlueprint

blp = PageBlueprint("documents_report_pages", __name__)
