"""Sign-in, registration, set-password links, accounts and the start page."""

from __future__ import annotations

from shared.web.pages import PageBlueprint

blp = PageBlueprint("intake_account_pages", __name__)
