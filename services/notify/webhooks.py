"""Signed webhooks: one POST per delivery, with a time-out, never following redirects."""

from __future__ import annotations

import json
import time
from typing import Any

import requests

from services.notify import signing


def body(*, key: str, event_id: str, event_type: str, recipient: str, language: str,
         title: str, text: str, created_at: str, references: dict[str, Any]) -> bytes:
    return json.dumps({
        "id": key, "event": {"id": event_id, "type": event_type}, "recipient": recipient,
        "language": language, "title": title, "body": text, "created_at": created_at,
        "references": references,
    }, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")


class WebhookFailed(Exception):
    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


def post(session: requests.Session, url: str, secret: str, key: str, event_type: str,
         payload: bytes, timeout: float) -> int:
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "Dossier-Notify/1",
        "X-Dossier-Delivery": key,
        "X-Dossier-Event": event_type,
        signing.HEADER: signing.signature(secret, int(time.time()), payload),
    }
    try:
        r = session.post(url, data=payload, headers=headers, timeout=(timeout, timeout),
                         allow_redirects=False)
    except requests.RequestException as exc:
        raise WebhookFailed(f"{type(exc).__name__}: {exc}") from exc
    if 200 <= r.status_code < 300:
        return r.status_code
    # 410 Gone is the receiver saying the endpoint is retired: retrying cannot help.
    raise WebhookFailed(f"HTTP {r.status_code}: {r.text[:200]}", permanent=r.status_code == 410)
