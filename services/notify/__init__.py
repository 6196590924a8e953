"""Notify: templates, delivery and the in-app inbox."""
