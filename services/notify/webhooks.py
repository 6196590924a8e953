"""Signed webhooks: one POST per delivery, with a time-out, never following redirects.

The receiver's address is checked when the POST is made, not only when the URL was registered:
a name that resolved to a public address then may resolve to 127.0.0.1 or the cloud metadata
address now (DNS rebinding). The name is resolved once, every address it gives is checked, and
the connection goes to the checked address itself (the name still goes in `Host` and, for
https, in SNI and the certificate check), so no second lookup can switch it in between.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import SplitResult, urlsplit

import certifi
import urllib3

from services.notify import signing

# host, port → the addresses to connect to (injectable: tests stand in for DNS).
Resolver = Callable[[str, int], list[str]]


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


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


class AddressRefused(ValueError):
    """The URL may not be called: not http(s), credentials in it, or not a public address."""


def _port(parts: SplitResult) -> int:
    return parts.port or (443 if parts.scheme == "https" else 80)


def checked_address(url: str, allow_private: bool, resolve: Resolver = system_resolver
                    ) -> str:
    """The one address to connect to for `url`, after checking every address its name has
    now: none may be loopback, private, link-local (cloud metadata), shared (100.64/10, where
    some clouds keep theirs), multicast, reserved or otherwise not public, unless the operator
    allows calls into the internal network."""
    try:
        parts = urlsplit(url)
        port = _port(parts)
    except ValueError as exc:
        raise AddressRefused("not an http(s) URL") from exc
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise AddressRefused("not an http(s) URL")
    if parts.username or parts.password:
        raise AddressRefused("credentials in the URL")
    try:
        addresses = [ipaddress.ip_address(a.split("%")[0])
                     for a in resolve(parts.hostname, port)]
    except (OSError, UnicodeError, ValueError) as exc:
        raise AddressRefused("the host name does not resolve") from exc
    if not addresses:
        raise AddressRefused("the host name does not resolve")
    if not allow_private:
        for address in addresses:
            mapped = getattr(address, "ipv4_mapped", None)
            if (not address.is_global or address.is_multicast
                    or (mapped is not None and not mapped.is_global)):
                raise AddressRefused(f"{address} is not a public address")
    return str(addresses[0])


def post(url: str, secret: str, key: str, event_type: str, payload: bytes, timeout: float,
         allow_private: bool, resolve: Resolver = system_resolver) -> int:
    try:
        address = checked_address(url, allow_private, resolve)
    except AddressRefused as exc:
        # Refused for what the address is, not for a passing fault: retrying cannot help.
        raise WebhookFailed(f"address refused: {exc}", permanent=True) from exc
    parts = urlsplit(url)
    headers = {
        "Host": parts.netloc,
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "Dossier-Notify/1",
        "X-Dossier-Delivery": key,
        "X-Dossier-Event": event_type,
        signing.HEADER: signing.signature(secret, int(time.time()), payload),
    }
    pool = _pool(parts, address, timeout)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        r = pool.urlopen("POST", target, body=payload, headers=headers, redirect=False,
                         retries=False, assert_same_host=False, preload_content=True)
    except urllib3.exceptions.HTTPError as exc:
        raise WebhookFailed(f"{type(exc).__name__}: {exc}") from exc
    finally:
        pool.close()
    if 200 <= r.status < 300:
        return r.status
    text = r.data[:200].decode("utf-8", "replace")
    # 410 Gone is the receiver saying the endpoint is retired: retrying cannot help.
    raise WebhookFailed(f"HTTP {r.status}: {text}", permanent=r.status == 410)


def _pool(parts: SplitResult, address: str, timeout: float) -> urllib3.HTTPConnectionPool:
    """A connection to `address` itself, speaking to the URL's host name."""
    limits = urllib3.Timeout(connect=timeout, read=timeout)
    if parts.scheme == "https":
        return urllib3.HTTPSConnectionPool(
            address, _port(parts), timeout=limits, maxsize=1, retries=False,
            cert_reqs="CERT_REQUIRED", ca_certs=certifi.where(),
            assert_hostname=parts.hostname, server_hostname=parts.hostname)
    return urllib3.HTTPConnectionPool(address, _port(parts), timeout=limits, maxsize=1,
                                      retries=False)
