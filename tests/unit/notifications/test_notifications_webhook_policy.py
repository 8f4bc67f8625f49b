"""Where a webhook may point: HTTPS to public hosts in production (no SSRF into the network)."""

import pytest

from services.kit.errors import InvalidRequest
from services.notifications.domain.settings_request import WebhookPolicy, apply_settings

LOCAL = WebhookPolicy(require_https=False, allow_private_hosts=True)


def put(url: str, policy: WebhookPolicy = WebhookPolicy()):
    return apply_settings("a-1", "hospital", ["referrer"], {"webhook_url": url}, None, policy)


@pytest.mark.parametrize("url", [
    "https://127.0.0.1/hook", "https://10.0.0.8/hook", "https://192.168.1.2/hook",
    "https://169.254.169.254/latest/meta-data", "https://[::1]/hook", "https://localhost/hook",
    "https://rabbitmq.internal/hook",
])
def test_production_refuses_private_and_internal_hosts(url):
    with pytest.raises(InvalidRequest) as refused:
        put(url)
    assert refused.value.errors == {"webhook_url": ["must point at a public host"]}


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
