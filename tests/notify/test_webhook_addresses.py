"""The webhook address is checked again when notify sends, and the checked address is the one
connected to (DNS rebinding cannot swap it between the check and the connection)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from services.notify import webhooks
from services.notify.preferences import WebhookUrlRefused, check_webhook_url


class Receiver(BaseHTTPRequestHandler):
    hits: ClassVar[list[tuple[str, str]]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.hits.append((self.path, self.headers["Host"]))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def receiver() -> Iterator[int]:
    Receiver.hits = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


class Dns:
    """Answers as a rebinding attacker's name server would: public first, loopback later."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = list(answers)
        self.asked: list[tuple[str, int]] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append((host, port))
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


def send(url: str, resolve: Dns, allow_private: bool = False) -> int:
    return webhooks.post(url, "secret", "k1", "packet.checked", b"{}", 5.0, allow_private,
                         resolve)


def test_a_name_that_later_resolves_to_loopback_is_refused_at_send(receiver: int) -> None:
    url = f"http://hooks.rebind.example:{receiver}/in"
    dns = Dns(["93.184.216.34"], ["127.0.0.1"])
    webhooks.checked_address(url, False, dns)  # what registration saw: a public address
    with pytest.raises(webhooks.WebhookFailed) as failed:
        send(url, dns)
    assert failed.value.permanent and "127.0.0.1 is not a public address" in str(failed.value)
    assert Receiver.hits == []  # nothing reached the loopback receiver


@pytest.mark.parametrize("address", [
    "127.0.0.1", "10.1.2.3", "172.16.0.9", "192.168.1.1", "169.254.169.254", "100.100.100.200",
    "0.0.0.0",  # noqa: S104 (an answer to refuse, not a bind)
    "::1", "fe80::1", "fd00::1", "::ffff:127.0.0.1", "224.0.0.1",
])
def test_private_loopback_link_local_and_metadata_addresses_are_refused(address: str) -> None:
    with pytest.raises(webhooks.WebhookFailed) as failed:
        send("https://hooks.example.cn/in", Dns([address]))
    assert failed.value.permanent


def test_one_bad_address_among_several_refuses_the_name() -> None:
    with pytest.raises(webhooks.AddressRefused):
        webhooks.checked_address("https://hooks.example.cn/", False,
                                 Dns(["93.184.216.34", "127.0.0.1"]))


def test_the_connection_goes_to_the_checked_address_without_a_second_lookup(
        receiver: int) -> None:
    # An unresolvable name: only the injected answer can lead anywhere.
    url = f"http://hooks.invalid:{receiver}/in?x=1"
    dns = Dns(["127.0.0.1"], ["203.0.113.9"])
    assert send(url, dns, allow_private=True) == 204
    assert dns.asked == [("hooks.invalid", receiver)]
    assert Receiver.hits == [("/in?x=1", f"hooks.invalid:{receiver}")]


def test_registration_refuses_the_same_addresses() -> None:
    with pytest.raises(WebhookUrlRefused):
        check_webhook_url("http://127.0.0.1:9/x", allow_private=False)
    with pytest.raises(WebhookUrlRefused):
        check_webhook_url("http://user:pw@hooks.example.cn/x", allow_private=False)
    check_webhook_url("http://127.0.0.1:9/x", allow_private=True)
