"""The operator's pages: experts, conflicts, assignment, scoring progress, ranking, opinions,
decision, certificates, revocation, objections."""

from __future__ import annotations

from shared.web.pages import PageBlueprint

blp = PageBlueprint("review_office_pages", __name__)
