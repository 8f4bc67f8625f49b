"""What must never leak: names out of messages, contact details and secrets out of the
database and the logs, secrets out of reads, one agency's log to another."""

from __future__ import annotations

import logging

import pytest

from services.kit.errors import InvalidRequest
from tests.integration.notifications.agencies import HOSPITAL, PEERS
from tests.integration.notifications.receivers import answers, publish
from tests.integration.stored import raw_database_text
from tests.support import wait_for
from tests.unit.notifications.notification_builders import match_payload, status_payload

NAME_CANARIES = ("Canaria", "canaria")
CONTACT_CANARIES = ("intake-7731@peers.example", "+15555557731", "hook-token-7731")
EXPLANATION = [{"factor": "Ana Canaria Ruiz", "weight": 0.3, "score": 1.0, "contribution": 0.3}]

# Storage plays no part in what these tests prove: once on SQLite is enough.
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def test_names_in_payloads_never_reach_a_message_and_contacts_are_never_stored_in_clear(
        notifications, config, http_receiver, inbox, sms_provider, caplog):
    caplog.set_level(logging.INFO)  # the level services run at (config.yml)
    hook = http_receiver(answers())
    mails, _port = inbox
    contacts = {"webhook_url": f"{hook.url}/hook-token-7731", "email": "intake-7731@peers.example",
                "phone": "+15555557731"}
    secret = notifications.put_settings(PEERS, contacts)["webhook_secret"]
    notifications.put_settings(HOSPITAL, {"webhook_url": hook.url, "email": "er@hospital.example"})
    uri = config["AMQP_URI"]

    publish(uri, "match.proposed", match_payload(explanation=EXPLANATION,
                                                 reason_code="Ana Canaria Ruiz said so"))
    publish(uri, "referral.status_changed",
            status_payload(participant_id="ana-canaria-ruiz", reason_code="Ana Canaria relapsed"))

    wait_for(lambda: len(hook.received) == 2 and len(mails.mails) == 2 and sms_provider.received)
    outgoing = ([r.body.decode() for r in hook.received + sms_provider.received]
                + [m.as_string() for m in mails.mails])
    assert not [text for text in outgoing if any(c in text for c in NAME_CANARIES)]
    stored = raw_database_text(config["DATABASE_URL"])
    logged = service_logs(caplog)
    for canary in (*CONTACT_CANARIES, secret, *NAME_CANARIES):
        assert canary not in stored
        assert canary not in logged
    assert "v1.k1." in stored  # the sealed cells were read, as stored
    assert "peers.example" not in logged and "delivery" in logged


def service_logs(caplog) -> str:
    """Everything logged in the test process except by the receiving SMTP server (``mail.log``)."""
    formatter = logging.Formatter("%(name)s %(message)s")
    return "\n".join(formatter.format(r) for r in caplog.records if not r.name.startswith("mail."))


@sqlite_only
def test_settings_reads_never_show_the_webhook_secret(notifications):
    first = notifications.put_settings(PEERS, {"webhook_url": "https://peers.example/hooks"})
    assert first["webhook_secret"].startswith("whsec_")

    read = notifications.get_settings(PEERS)
    assert "webhook_secret" not in read and read["webhook_secret_set"] is True
    assert read["webhook_url"] == "https://peers.example/hooks"
    again = notifications.put_settings(PEERS, {"webhook_url": "https://peers.example/v2"})
    assert "webhook_secret" not in again
    rotated = notifications.put_settings(PEERS, {"webhook_url": "https://peers.example/v2",
                                                 "rotate_webhook_secret": True})
    assert rotated["webhook_secret"] not in (None, first["webhook_secret"])
    assert "webhook_secret" not in notifications.get_settings(PEERS)


@sqlite_only
def test_bad_settings_are_refused_with_an_error_per_field(notifications):
    body = {"webhook_url": "ftp://peers.example", "email": "not-an-address", "phone": "555",
            "quiet_hours": {"start": "25:00", "end": "07:00", "timezone": "Mars/Olympus"},
            "colour": "blue"}

    with pytest.raises(InvalidRequest) as refused:
        notifications.put_settings(PEERS, body)

    assert set(refused.value.errors) == {"webhook_url", "email", "phone", "quiet_hours.start",
                                         "quiet_hours.timezone", "colour"}
    assert "not-an-address" not in str(refused.value.errors)
    with pytest.raises(InvalidRequest) as bad_caller:
        notifications.get_settings({"agency_id": "ag-x", "kind": "spaceship"})
    assert set(bad_caller.value.errors) == {"caller.kind"}
    with pytest.raises(InvalidRequest) as bad_page:
        notifications.deliveries(PEERS, page="not a page")
    assert set(bad_page.value.errors) == {"page"}
    assert notifications.get_settings(PEERS)["email"] is None  # nothing was stored


def test_an_agency_sees_only_its_own_delivery_log(notifications, config, http_receiver):
    hook = http_receiver(answers())
    notifications.put_settings(PEERS, {"webhook_url": hook.url})
    notifications.put_settings(HOSPITAL, {"webhook_url": hook.url})

    publish(config["AMQP_URI"], "match.proposed", match_payload())
    publish(config["AMQP_URI"], "referral.status_changed", status_payload())

    wait_for(lambda: len(hook.received) == 2)
    peers, hospital = notifications.deliveries(PEERS), notifications.deliveries(HOSPITAL)
    assert [d["event_type"] for d in peers["items"]] == ["match.proposed"]
    assert [d["event_type"] for d in hospital["items"]] == ["referral.status_changed"]
    stranger = {"agency_id": "ag-stranger", "kind": "clinic", "roles": ["admin"]}
    assert notifications.deliveries(stranger) == {"items": [], "next_page": None}
