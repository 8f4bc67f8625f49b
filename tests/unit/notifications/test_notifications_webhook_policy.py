"""Where a webhook may point: HTTPS to public hosts in production (no SSRF into the network)."""

import ipaddress
import socket

import pytest

from services.kit.errors import InvalidRequest
from services.notifications.domain.destinations import literal_address
from services.notifications.domain.settings_request import WebhookPolicy, apply_settings

LOCAL = WebhookPolicy(require_https=False, allow_private_hosts=True)


def put(url: str, policy: WebhookPolicy = WebhookPolicy()):
    return apply_settings("a-1", "hospital", ["referrer"], {"webhook_url": url}, None, policy)


@pytest.mark.parametrize("url", [
    "https://127.0.0.1/hook", "https://10.0.0.8/hook", "https://192.168.1.2/hook",
    "https://169.254.169.254/latest/meta-data", "https://[::1]/hook", "https://localhost/hook",
    "https://rabbitmq.internal/hook",
    # Every spelling the resolver reads as a private IPv4 address (inet_aton's forms).
    "https://127.1/", "https://2130706433/", "https://0x7f000001/", "https://10.1/",
    "https://0177.0.0.1/", "https://0x7f.0.0.1/", "https://017700000001/", "https://127.0.0.1./",
    "https://0x0a.0x00.0x00.0x05:8443/", "https://192.168.257/",
    # IPv4 inside IPv6, and the IPv6 ranges that are not public.
    "https://[::ffff:127.0.0.1]/", "https://[::ffff:a00:5]/", "https://[::127.0.0.1]/",
    "https://[2002:7f00:1::]/", "https://[fec0::1]/", "https://[fd12:3456::1]/", "https://[fe80::1]/",
    "https://[ff0e::1]/", "https://[::]/",
    # Special IPv4 ranges, some of which ``is_global`` alone lets through.
    "https://0.0.0.0/", "https://0.1.2.3/", "https://100.64.0.1/", "https://192.0.0.8/",
    "https://198.18.0.1/", "https://224.0.0.1/", "https://239.255.255.250/", "https://240.0.0.1/",
    "https://255.255.255.255/",
    # Names that never leave the site.
    "https://LOCALHOST/", "https://localhost./", "https://api.localhost/", "https://printer.local/",
    "https://db.Internal/",
])
def test_production_refuses_private_and_internal_hosts(url):
    with pytest.raises(InvalidRequest) as refused:
        put(url)
    assert refused.value.errors == {"webhook_url": ["must point at a public host"]}


@pytest.mark.parametrize("url", [
    "https://hooks.example.org/in", "https://8.8.8.8/in", "https://134744072/in",
    "https://[2606:4700:4700::1111]/in", "https://localhost.example.org/",
])
def test_public_hosts_and_names_are_accepted(url):
    assert put(url).settings.webhook_url == url


@pytest.mark.parametrize("url", ["https://[::1/hook", "https://hooks.example.org:99999/in",
                                 "https://hooks.example.org:port/in"])
def test_a_url_that_cannot_be_parsed_is_refused_naming_the_field(url):
    with pytest.raises(InvalidRequest) as refused:
        put(url)
    assert list(refused.value.errors) == ["webhook_url"]


def test_allowing_private_hosts_accepts_every_spelling_of_loopback():
    for url in ("http://127.1:8080/", "http://2130706433/", "http://[::ffff:127.0.0.1]/"):
        assert put(url, LOCAL).settings.webhook_url == url


def test_production_refuses_plain_http():
    with pytest.raises(InvalidRequest) as refused:
        put("http://hooks.example.org/in")
    assert "https" in refused.value.errors["webhook_url"][0]


def test_public_https_is_accepted_and_gets_a_secret():
    change = put("https://hooks.example.org/in")
    assert change.settings.webhook_url == "https://hooks.example.org/in"
    assert change.revealed_secret


def test_a_local_network_may_receive_on_loopback_over_http():
    assert put("http://127.0.0.1:8080/hook", LOCAL).settings.webhook_url == "http://127.0.0.1:8080/hook"


@pytest.mark.parametrize("host", ["127.1", "2130706433", "0x7f000001", "10.1", "0177.0.0.1", "0x7f.1",
                                  "192.168.257", "8.8.8.8", "0XA.010.0x0.5", "4294967295"])
def test_address_literals_are_read_as_the_c_library_reads_them(host):
    assert literal_address(host) == ipaddress.IPv4Address(socket.inet_aton(host))


@pytest.mark.parametrize("host", ["1.2.3.4.5", "256.1.1.1", "4294967296", "08.0.0.1", "0xg.1",
                                  "hooks.example.org", "1..2", ""])
def test_what_the_c_library_does_not_read_as_an_address_is_a_name(host):
    with pytest.raises(OSError):
        socket.inet_aton(host)
    assert literal_address(host) is None
