"""Webhook signatures, Stripe-style: `X-Dossier-Signature: t=<unix>,v1=<hex>` where the hex is
HMAC-SHA256, keyed with the endpoint's secret, over `"<t>.<raw body>"`.

A receiver recomputes the HMAC over the raw body it received, compares in constant time, and
refuses a timestamp older than its tolerance (replay); the `X-Dossier-Delivery` header is the
same on every retry of one delivery, so it also drops repeats by that id.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

HEADER = "X-Dossier-Signature"
DEFAULT_TOLERANCE = 300


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, header: str, body: bytes, tolerance: int = DEFAULT_TOLERANCE,
           now: float | None = None) -> bool:
    """What a receiver runs; true only for a fresh, untampered body."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((now if now is not None else time.time()) - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))
