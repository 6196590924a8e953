"""Credentials an event carries sealed for the outward channels: a set-password link.

The producer puts `link_sealed` (the link encrypted for notify, `shared.crypto.FieldCipher`)
in the payload instead of the link. Messages are rendered with a placeholder in its place, so
the inbox copy and notify's tables never hold a usable link; the delivery keeps the sealed
value as it came, and the e-mail (or webhook) gets the real link only at send time. The sealed
value is dropped once the delivery is sent.
"""

from __future__ import annotations

from typing import Any

from services.notify.messages import Rendered
from shared.config import Settings
from shared.crypto import DecryptionFailed, FieldCipher
from shared.messages.intake import INVITATION_LINK_PURPOSE

# event type → (the template variable, the key purpose its sealed value was made with)
SEALED = {"account.invited": ("link", INVITATION_LINK_PURPOSE)}
# What the inbox (and anything else kept) shows where the link goes.
HIDDEN = {"zh-CN": "（一次性链接仅在发给您的邮件中提供，此处不显示）",
          "en": "(the one-time link is only in the message sent to you, not shown here)"}
_MARK = "\x00sealed\x00"


class CannotOpen(Exception):
    """A sealed value this deployment's key does not open (another key, tampered)."""


def for_rendering(event_type: str, payload: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The payload templates see (a placeholder in place of the secret) and the sealed value."""
    if event_type not in SEALED:
        return payload, None
    name, _purpose = SEALED[event_type]
    visible = {k: v for k, v in payload.items() if k != f"{name}_sealed"}
    visible[name] = _MARK
    return visible, payload.get(f"{name}_sealed")


def redact(rendered: Rendered) -> Rendered:
    """The message as kept: each language's placeholder text where the secret goes."""
    return Rendered({lang: text.replace(_MARK, HIDDEN[lang])
                     for lang, text in rendered.title.items()},
                    {lang: text.replace(_MARK, HIDDEN[lang])
                     for lang, text in rendered.body.items()})


def reveal(settings: Settings, event_type: str, sealed: str | None, language: str,
           *texts: str) -> list[str]:
    """`texts` as sent: the secret opened and put where the kept copy shows the placeholder."""
    if sealed is None or event_type not in SEALED:
        return list(texts)
    _name, purpose = SEALED[event_type]
    try:
        secret = FieldCipher(settings.field_key(), purpose).decrypt(sealed)
    except DecryptionFailed as exc:
        raise CannotOpen(str(exc)) from exc
    hidden = HIDDEN.get(language, HIDDEN["zh-CN"])
    return [t.replace(hidden, secret) for t in texts]
