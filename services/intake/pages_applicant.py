"""The applicant's pages: eligibility, packet, uploads, publicity, submit, history."""

from __future__ import annotations

from shared.web.pages import PageBlueprint

blp = PageBlueprint("intake_applicant_pages", __name__)
