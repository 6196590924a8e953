"""Request and response schemas of notify's API."""

from __future__ import annotations

import marshmallow as ma

from services.notify.messages import LANGUAGES
from shared.pagination import page_schema


class MessageOut(ma.Schema):
    id = ma.fields.String()
    event_type = ma.fields.String()
    title = ma.fields.String()
    body = ma.fields.String()
    created_at = ma.fields.DateTime()
    read = ma.fields.Boolean()
    refs = ma.fields.Dict(metadata={"description": "Ids of the things the message is about"})


class InboxOut(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(MessageOut))
    page = ma.fields.Integer()
    per_page = ma.fields.Integer()
    total = ma.fields.Integer()
    unread = ma.fields.Integer(metadata={"description": "Unread messages in the whole inbox"})


class InboxQuery(ma.Schema):
    unread = ma.fields.Boolean()
    event_type = ma.fields.String()


class ReadAllOut(ma.Schema):
    marked = ma.fields.Integer()


class PreferencesIn(ma.Schema):
    email = ma.fields.Boolean()
    webhook = ma.fields.Boolean()
    language = ma.fields.String(validate=ma.validate.OneOf(LANGUAGES), allow_none=True)
    webhook_url = ma.fields.Url(schemes={"http", "https"}, require_tld=False, allow_none=True,
                                validate=ma.validate.Length(max=500))
    rotate_secret = ma.fields.Boolean(load_default=False,
                                      metadata={"description": "Issue a new signing secret"})
    muted = ma.fields.List(ma.fields.String(), metadata={
        "description": "Event types never sent by e-mail or webhook (the inbox keeps them)"})


class PreferencesOut(ma.Schema):
    subject = ma.fields.String()
    inbox = ma.fields.Boolean(metadata={"description": "Always on"})
    email = ma.fields.Boolean()
    email_address = ma.fields.String(allow_none=True,
                                     metadata={"description": "From the account directory"})
    webhook = ma.fields.Boolean()
    webhook_url = ma.fields.String(allow_none=True)
    webhook_secret = ma.fields.String(allow_none=True, metadata={
        "description": "Shown once, when issued; verify X-Dossier-Signature with it"})
    language = ma.fields.String()
    muted = ma.fields.List(ma.fields.String())


class DeliveryQuery(ma.Schema):
    status = ma.fields.String(validate=ma.validate.OneOf(
        ("pending", "queued", "sending", "sent", "dead")))
    channel = ma.fields.String(validate=ma.validate.OneOf(("email", "webhook")))
    recipient = ma.fields.String()
    event_type = ma.fields.String()
    in_doubt = ma.fields.Boolean()


class DeliveryOut(ma.Schema):
    id = ma.fields.Integer()
    key = ma.fields.String()
    event_id = ma.fields.String()
    event_type = ma.fields.String()
    recipient = ma.fields.String()
    channel = ma.fields.String()
    target = ma.fields.String(metadata={"description": "Masked address or endpoint"})
    language = ma.fields.String()
    status = ma.fields.String()
    attempts = ma.fields.Integer()
    next_attempt_at = ma.fields.DateTime()
    last_error = ma.fields.String(allow_none=True)
    in_doubt = ma.fields.Boolean()
    created_at = ma.fields.DateTime()
    sent_at = ma.fields.DateTime(allow_none=True)


DeliveryPage = page_schema(DeliveryOut, "DeliveryPage")


class DeliveryCounts(ma.Schema):
    counts = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())
