"""Pages for visitors without an account: published lists, objections, certificate checks."""

from __future__ import annotations

from shared.web.pages import PageBlueprint

blp = PageBlueprint("review_public_pages", __name__)
