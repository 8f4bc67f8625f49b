"""The running service sends webhooks to public addresses only: a name that resolves to this
machine is refused when sending (the receiver on 127.0.0.1 gets nothing), and a redirect is a
final failure. Only loopback is ever contacted here: other names are answered by a stand-in
resolver or by the hosts file."""

from __future__ import annotations

import socket

from services.notifications.service import NotificationsService
from tests.integration.notifications.agencies import PEERS
from tests.integration.notifications.receivers import answers, publish
from tests.support import service_proxy, wait_for
from tests.unit.notifications.notification_builders import match_payload

PUBLIC_LOOKING = "hooks.example.org"


def only_delivery(notifications, caller, status):
    items = notifications.deliveries(caller)["items"]
    return items[0] if len(items) == 1 and items[0]["status"] == status else None


def attempts_of(delivery) -> list[tuple[str, str | None]]:
    return [(a["outcome"], a["error"]) for a in delivery["attempts"]]


def test_a_name_resolving_to_loopback_is_refused_when_sending(
        start_service, config, http_receiver, monkeypatch):
    hook = http_receiver(answers())
    port = hook.url.rsplit(":", 1)[1]
    system_resolver = socket.getaddrinfo

    def resolver(host, *args, **kwargs):
        # The agency's name now points at this machine (DNS changed after the URL was saved).
        return system_resolver("127.0.0.1" if host == PUBLIC_LOOKING else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    notifications = start_service({**config, "WEBHOOK_ALLOW_PRIVATE_HOSTS": False})
    # A name is accepted when saved: where it points is checked each time it is sent to.
    notifications.put_settings(PEERS, {"webhook_url": f"http://{PUBLIC_LOOKING}:{port}/hooks"})

    publish(config["AMQP_URI"], "match.proposed", match_payload())

    delivery = wait_for(lambda: only_delivery(notifications, PEERS, "failed"))
    assert attempts_of(delivery) == [("error", "destination_refused")]
    assert hook.received == []


def test_localhost_saved_while_allowed_is_refused_once_private_hosts_are_not(
        container_factory, config, http_receiver):
    hook = http_receiver(answers())
    url = hook.url.replace("127.0.0.1", "localhost") + "/hooks"
    saving = container_factory(NotificationsService, config)  # allows private hosts
    saving.start()
    with service_proxy("notifications", config) as notifications:
        notifications.put_settings(PEERS, {"webhook_url": url})
    saving.stop()

    container_factory(NotificationsService, {**config, "WEBHOOK_ALLOW_PRIVATE_HOSTS": False}).start()
    publish(config["AMQP_URI"], "match.proposed", match_payload())

    with service_proxy("notifications", config) as notifications:
        delivery = wait_for(lambda: only_delivery(notifications, PEERS, "failed"))
    assert attempts_of(delivery) == [("error", "destination_refused")]
    assert hook.received == []


def test_a_receiver_answering_a_redirect_fails_the_delivery_without_following_it(
        notifications, config, http_receiver):
    hook = http_receiver(answers(then=302))
    notifications.put_settings(PEERS, {"webhook_url": f"{hook.url}/hooks"})

    publish(config["AMQP_URI"], "match.proposed", match_payload())

    delivery = wait_for(lambda: only_delivery(notifications, PEERS, "failed"))
    assert attempts_of(delivery) == [("error", "redirect_refused")]
    assert [a["http_status"] for a in delivery["attempts"]] == [302]
    assert len(hook.received) == 1
