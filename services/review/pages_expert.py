"""The expert's pages: assignments, declaration, conflicts, documents, scoring."""

from __future__ import annotations

from shared.web.pages import PageBlueprint

blp = PageBlueprint("review_expert_pages", __name__)
