"""Agency notification settings: validation, defaults, and the webhook secret."""

import pytest
from notification_builders import agency

from services.kit.errors import InvalidRequest
from services.notifications.domain.settings import AgencySettings, QuietHours
from services.notifications.domain.settings_request import apply_settings

BODY = {"webhook_url": "https://peers.example/hooks", "email": "intake@peers.example",
        "language": "es", "quiet_hours": {"start": "21:00", "end": "07:00",
                                          "timezone": "America/New_York"}}


def put(body, current=None, roles=("coordinator",)):
    return apply_settings("ag-peers", "peer_group", roles, body, current)


def errors_of(body):
    with pytest.raises(InvalidRequest) as caught:
        put(body)
    return caught.value.errors


def test_first_webhook_url_gets_a_secret_shown_once():
    change = put(BODY)
    secret = change.revealed_secret
    assert secret and secret.startswith("whsec_") and len(secret) > 40
    assert change.settings.webhook_secret == secret
    assert change.settings.public_view(secret)["webhook_secret"] == secret
    assert "webhook_secret" not in change.settings.public_view()
    assert secret not in repr(change.settings)

    again = put(BODY, current=change.settings)
    assert again.revealed_secret is None and again.settings.webhook_secret == secret


def test_rotation_replaces_the_secret_and_shows_the_new_one():
    first = put(BODY).settings
    rotated = put({**BODY, "rotate_webhook_secret": True}, current=first)
    assert rotated.revealed_secret and rotated.revealed_secret != first.webhook_secret
    assert rotated.settings.webhook_secret == rotated.revealed_secret


def test_removing_the_webhook_url_drops_the_secret():
    first = put(BODY).settings
    assert put({"email": "intake@peers.example"}, current=first).settings.webhook_secret is None


def test_valid_settings_are_kept_as_given():
    s = put(BODY).settings
    assert (s.email, s.language) == ("intake@peers.example", "es")
    assert s.quiet_hours == QuietHours.parse("21:00", "07:00", "America/New_York")
    assert s.timezone == "America/New_York"


@pytest.mark.parametrize("body, field", [
    ({"webhook_url": "ftp://peers.example/x"}, "webhook_url"),
    ({"webhook_url": "peers.example/hooks"}, "webhook_url"),
    ({"webhook_url": "https://user:pw@peers.example/hooks"}, "webhook_url"),
    ({"email": "not-an-address"}, "email"),
    ({"phone": "555-0100"}, "phone"),
    ({"language": "xx-nonsense"}, "language"),
    ({"quiet_hours": {"start": "21:00", "end": "07:00", "timezone": "Mars/Olympus"}},
     "quiet_hours.timezone"),
    ({"quiet_hours": {"start": "9pm", "end": "07:00", "timezone": "UTC"}}, "quiet_hours.start"),
    ({"quiet_hours": {"start": "07:00", "end": "07:00", "timezone": "UTC"}}, "quiet_hours"),
    ({"channels": {"pigeon": ["match.proposed"]}}, "channels.pigeon"),
    ({"channels": {"email": ["match.proposed"]}}, "channels.email"),  # no address set
    ({"email": "a@b.example", "channels": {"email": ["referral.gossip"]}}, "channels.email"),
    ({"nickname": "x"}, "nickname"),
])
def test_bad_fields_are_named_with_a_message(body, field):
    errors = errors_of(body)
    assert field in errors and errors[field] and all(isinstance(m, str) for m in errors[field])


def test_every_bad_field_is_reported_at_once():
    errors = errors_of({"webhook_url": "ftp://x", "email": "nope", "phone": "1"})
    assert set(errors) == {"webhook_url", "email", "phone"}


def test_channels_carry_only_what_is_configured_and_subscribed():
    s = agency(webhook_url=None, phone=None)
    assert s.channels_for("referral.status_changed") == ["email"]
    full = agency()
    assert full.channels_for("match.proposed") == ["webhook", "email", "sms"]
    assert full.channels_for("referral.status_changed") == ["webhook", "email"]


def test_subscriptions_can_narrow_a_channel():
    s = put({**BODY, "channels": {"email": ["consent.revoked"]}}).settings
    assert s.channels_for("match.proposed") == ["webhook"]
    assert s.channels_for("consent.revoked") == ["webhook", "email"]


def test_the_network_operator_is_the_network_admin_and_an_agency_admin_is_not():
    operator = apply_settings("ag-operator", "operator", ("operator",), BODY, None)
    assert operator.settings.is_network_admin
    assert not put(BODY, roles=("admin",)).settings.is_network_admin
    assert not put(BODY).settings.is_network_admin
    with pytest.raises(InvalidRequest):
        put(BODY, roles=("overlord",))


def test_record_round_trip_keeps_the_secret():
    s = put(BODY).settings
    assert AgencySettings.from_record(s.to_record()) == s
