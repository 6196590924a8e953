"""Every service's `tasks.py` has one shape: `events(ctx)`, a table from each event the contract
routes to the service (`shared.events.SUBSCRIPTIONS`) to the handler that calls its domain, which
`register` hands to the inbox whole."""

from __future__ import annotations

import importlib
import inspect

import pytest

from shared.config import SERVICES, load_settings
from shared.events import SUBSCRIPTIONS, Subscription
from shared.service import ServiceContext


@pytest.mark.parametrize("service", SERVICES)
def test_the_event_table_is_the_contract(service: str) -> None:
    tasks = importlib.import_module(f"services.{service}.tasks")
    models = importlib.import_module(f"services.{service}.models")
    settings = load_settings({"DOSSIER_SECRET_KEY": "s" * 40, "DOSSIER_S3_ACCESS_KEY": "a",
                              "DOSSIER_S3_SECRET_KEY": "b"})
    table = tasks.events(ServiceContext.create(service, models.metadata, settings))
    routed = {event for event, consumers in SUBSCRIPTIONS.items() if service in consumers}
    assert set(table) == routed
    for event, entry in table.items():
        handler = entry.handler if isinstance(entry, Subscription) else entry
        assert callable(handler), event
    # `register` gives the inbox the table, not handlers one by one.
    source = inspect.getsource(tasks.register)
    assert "inbox.subscribe(events(ctx))" in source
    assert "inbox.on(" not in inspect.getsource(tasks)
