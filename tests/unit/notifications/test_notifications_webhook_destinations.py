"""Where a webhook is sent: every address of its host checked at send time, the connection made
to a checked address, and a refused destination a final failure that opens no connection."""

from __future__ import annotations

import random
import socket

import pytest
from notification_builders import NOW
from urllib3.util import connection as urllib3_connection

from services.notifications.adapters.pinned_http import Connector, DestinationRefused
from services.notifications.adapters.webhook import WebhookSender
from services.notifications.domain.delivery import FAILED, Delivery
from services.notifications.domain.retry import DeliveryRetryPolicy

SECRET = "whsec_agency-secret"


class FakeResolver:
    """``socket.getaddrinfo`` answering fixed addresses for every name; records each lookup."""

    def __init__(self, *addresses: str) -> None:
        self.addresses = addresses
        self.lookups: list[str] = []

    def __call__(self, host, port, family=0, type=0, proto=0, flags=0):
        self.lookups.append(host)
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "",
                 (a, port)) for a in self.addresses]


class NoConnections:
    """A connect function that fails the test if anything tries to open a socket."""

    def __init__(self) -> None:
        self.attempts: list[tuple] = []

    def __call__(self, address, *args, **kwargs):
        self.attempts.append(address)
        raise AssertionError(f"a connection was attempted to {address}")


@pytest.mark.parametrize("addresses", [
    ("127.0.0.1",), ("10.0.0.5",), ("::1",), ("93.184.216.34", "10.0.0.5"),
    ("2606:4700::6810:84e5", "fd00::5"), ("169.254.169.254",), ("::ffff:127.0.0.1",), ("100.64.0.9",),
])
def test_a_name_resolving_to_any_private_address_is_refused_before_connecting(addresses):
    resolver, connect = FakeResolver(*addresses), NoConnections()
    sender = WebhookSender(connector=Connector(resolve=resolver, connect=connect))

    outcome = sender.send("https://hooks.example.org/in", SECRET, b"{}", "ev-1")

    assert (outcome.ok, outcome.retryable, outcome.detail) == (False, False, "destination_refused")
    assert resolver.lookups == ["hooks.example.org"] and connect.attempts == []


@pytest.mark.parametrize("url", [
    "https://127.1/", "https://2130706433/", "https://0x7f000001/", "https://10.1/",
    "https://[::ffff:127.0.0.1]/", "https://0177.0.0.1/", "https://[::1]:8443/", "https://0.0.0.0/",
])
def test_every_spelling_of_a_private_address_is_refused_at_send_time(url):
    # A resolver claiming a public address: the literal itself is judged, before any lookup.
    resolver, connect = FakeResolver("93.184.216.34"), NoConnections()
    sender = WebhookSender(connector=Connector(resolve=resolver, connect=connect))

    outcome = sender.send(url, SECRET, b"{}", "ev-1")

    assert (outcome.ok, outcome.retryable, outcome.detail) == (False, False, "destination_refused")
    assert resolver.lookups == [] and connect.attempts == []


@pytest.mark.parametrize("host", ["localhost", "api.localhost", "printer.local", "db.internal"])
def test_local_names_are_refused_without_even_resolving_them(host):
    resolver, connect = FakeResolver("93.184.216.34"), NoConnections()
    with pytest.raises(DestinationRefused):
        Connector(resolve=resolver, connect=connect).open(host, 443, 1.0)
    assert resolver.lookups == [] and connect.attempts == []


def test_a_refused_destination_fails_the_delivery_at_once_with_no_retries():
    sender = WebhookSender(connector=Connector(resolve=FakeResolver("10.0.0.5"), connect=NoConnections()))
    delivery = Delivery.create("ev-1", "match.proposed", "ag-peers", "webhook", NOW)

    delivery.record_attempt(sender.send("https://hooks.example.org/in", SECRET, b"{}", "ev-1"),
                            NOW, DeliveryRetryPolicy(max_attempts=6), random.Random(1))

    assert delivery.status == FAILED and delivery.next_attempt_at is None
    [attempt] = delivery.attempts
    assert (attempt.outcome, attempt.error) == ("error", "destination_refused")


def test_the_connection_goes_to_the_checked_address_with_the_name_as_host(local_http):
    server = local_http(lambda _request: (204, {}, b""))
    port = int(server.url.rsplit(":", 1)[1])
    resolver, connected = FakeResolver("127.0.0.1"), []

    def connect(address, *args, **kwargs):
        connected.append(address)
        return urllib3_connection.create_connection(address, *args, **kwargs)

    sender = WebhookSender(connector=Connector(allow_private_hosts=True, resolve=resolver, connect=connect))
    outcome = sender.send(f"http://hooks.example.org:{port}/in", SECRET, b"{}", "ev-1")

    assert outcome.ok
    assert resolver.lookups == ["hooks.example.org"]  # one lookup: the one that was checked
    assert connected == [("127.0.0.1", port)]
    [request] = server.received
    assert request.headers["Host"] == f"hooks.example.org:{port}" and request.path == "/in"


def test_each_checked_address_is_tried_in_turn_and_none_other():
    resolver, tried = FakeResolver("93.184.216.34", "93.184.216.35"), []

    def connect(address, *args, **kwargs):
        tried.append(address[0])
        if len(tried) == 1:
            raise ConnectionRefusedError
        return "socket"

    assert Connector(resolve=resolver, connect=connect).open("hooks.example.org", 443, 1.0) == "socket"
    assert tried == ["93.184.216.34", "93.184.216.35"]


def test_a_name_that_does_not_resolve_is_a_retryable_connection_failure():
    def no_such_name(*_args, **_kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    sender = WebhookSender(connector=Connector(resolve=no_such_name, connect=NoConnections()))
    outcome = sender.send("https://hooks.example.org/in", SECRET, b"{}", "ev-1")
    assert not outcome.ok and outcome.retryable and "hooks.example.org" not in outcome.detail


def test_proxy_settings_from_the_environment_are_ignored(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://10.0.0.1:3128")
    resolver, connect = FakeResolver("10.0.0.5"), NoConnections()
    sender = WebhookSender(connector=Connector(resolve=resolver, connect=connect))

    assert sender.send("https://hooks.example.org/in", SECRET, b"{}", "ev-1").detail == "destination_refused"
    assert resolver.lookups == ["hooks.example.org"]
