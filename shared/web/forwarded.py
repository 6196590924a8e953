"""Which requests may say who the client is: only those the one-origin proxy forwarded.

nginx overwrites `X-Forwarded-For` (and the rest) with what it saw and adds `X-Dossier-Proxy`,
a value derived from the secret key that only the proxy's configuration holds. A request with
the right value gets werkzeug's ProxyFix; any other request — straight to a service port, from
a client that wrote its own `X-Forwarded-For` — is answered for its socket address with every
`X-Forwarded-*` header removed. Source addresses alone cannot tell: in the embedded default the
services, nginx's upstream connections and any local client all come from 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from typing import Any

from werkzeug.middleware.proxy_fix import ProxyFix

PROXY_HEADER = "X-Dossier-Proxy"
_ENVIRON_KEY = "HTTP_" + PROXY_HEADER.upper().replace("-", "_")
_FORWARDED = tuple(f"HTTP_X_FORWARDED_{part}" for part in ("FOR", "PROTO", "HOST", "PORT",
                                                           "PREFIX"))


def proxy_secret(secret_key: str) -> str:
    """The header's value: derived, so nginx's file never holds the key that signs tokens."""
    return hmac.new(secret_key.encode(), b"dossier:proxy-header", hashlib.sha256).hexdigest()


class TrustedProxyFix:
    """WSGI middleware: ProxyFix for requests carrying the proxy's secret, none for others."""

    def __init__(self, app: Any, secret_key: str) -> None:
        self.app = app
        self.fixed = ProxyFix(app, x_for=1, x_proto=1, x_host=1, x_port=1, x_prefix=1)
        self.expected = proxy_secret(secret_key).encode()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        # Removed either way: the value must not reach logs or the application.
        sent = str(environ.pop(_ENVIRON_KEY, "")).encode()
        if sent and hmac.compare_digest(sent, self.expected):
            return self.fixed(environ, start_response)
        for key in _FORWARDED:
            environ.pop(key, None)
        return self.app(environ, start_response)  # type: ignore[no-any-return]
