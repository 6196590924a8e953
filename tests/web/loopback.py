"""Clients from other loopback addresses: all of 127.0.0.0/8 is this machine, so a test can be
a second client address for the proxy (which listens on 127.0.0.1) without leaving loopback."""

from __future__ import annotations

import socket
from typing import Any

import requests
from requests.adapters import HTTPAdapter


class FromAddress(HTTPAdapter):
    """Connections made from `address` (a loopback address)."""

    def __init__(self, address: str) -> None:
        assert address.startswith("127."), address
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def session_from(address: str) -> requests.Session:
    http = requests.Session()
    http.mount("http://", FromAddress(address))
    return http


def half_sent_post(origin: str, path: str, address: str, declared: int = 1000) -> socket.socket:
    """A connection from `address` that sent a POST's headers and the first bytes of a body of
    `declared` bytes, and then nothing: what a slow client looks like to the proxy."""
    host, port = origin.removeprefix("http://").rsplit(":", 1)
    assert host == "127.0.0.1", origin
    sock = socket.create_connection((host, int(port)), timeout=10, source_address=(address, 0))
    sock.sendall(f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                 "Content-Type: application/x-www-form-urlencoded\r\n"
                 f"Content-Length: {declared}\r\n\r\nlogin=slow".encode())
    return sock
