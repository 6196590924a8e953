"""Notify's fixtures. They live in `notify_support` beside the helpers the tests import, since
a test importing `conftest` by name can get another folder's conftest module."""

from notify_support import notify, smtp, unique, webhooks

__all__ = ["notify", "smtp", "unique", "webhooks"]
