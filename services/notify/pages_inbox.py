"""The notification inbox page and the header's unread count."""

from __future__ import annotations

from shared.web.pages import PageBlueprint

blp = PageBlueprint("notify_inbox_pages", __name__)
