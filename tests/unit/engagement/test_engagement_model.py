"""The engagement aggregate: first contact, check-in consent, STOP, silence, the end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.engagement.domain.model import ON, PENDING, STOPPED, ContactEntry, Engagement
from services.engagement.domain.schedule import ContactWindow
from services.kit.errors import Conflict

START = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)


def engagement(**overrides) -> Engagement:
    values = {"agency_id": "peers", "referral_id": "r1", "participant_id": "p1", "consent_id": "c1",
              "started_at": START, "phone": "+15555550100", "language": "es"}
    return Engagement(**{**values, **overrides})


def contact(outcome: str, at: datetime, n: int = 1) -> ContactEntry:
    return ContactEntry(f"k{n}", "peers", "r1", at, "call", outcome, 5, None, "key:app", at)


def test_the_first_successful_contact_sets_time_to_first_contact():
    e = engagement()
    e.record_contact(contact("no_answer", START + timedelta(hours=2), 1))
    assert e.time_to_first_contact is None
    e.record_contact(contact("reached", START + timedelta(hours=30), 2))
    assert e.time_to_first_contact == timedelta(hours=30)
    e.record_contact(contact("reached", START + timedelta(hours=50), 3))
    assert e.time_to_first_contact == timedelta(hours=30)
    assert [payload["first_contact"] for _, payload in e.events] == [False, True, False]
    # A successful contact recorded late, but earlier in time, becomes the first.
    e.record_contact(contact("reached", START + timedelta(hours=10), 4))
    assert e.time_to_first_contact == timedelta(hours=10)


def test_events_carry_ids_and_codes_only():
    e = engagement()
    e.record_contact(ContactEntry("k1", "peers", "r1", START, "text", "reached", None, "Ana said hi",
                                  "key:app", START))
    (_, payload), = e.events
    assert "Ana" not in repr(payload) and "+1555" not in repr(payload)


def test_double_opt_in_waits_for_yes_a_recorded_consent_starts_at_once():
    window = ContactWindow()
    e = engagement()
    e.start_checkins(method="text_reply", channel="sms", cadence_days=7, window=window, now=START)
    assert (e.checkins, e.next_checkin_at) == (PENDING, None)
    e.confirm_checkins("text_reply", START)
    assert e.checkins == ON and e.next_checkin_at == START  # 10:00 in New York: the window is open
    other = engagement()
    other.start_checkins(method="verbal", channel="sms", cadence_days=3, window=window, now=START)
    assert other.checkins == ON and other.opt_in_method == "verbal"


def test_stop_ends_automated_messages_and_check_ins_cannot_restart_from_the_api():
    e = engagement()
    e.start_checkins(method="verbal", channel="sms", cadence_days=7, window=ContactWindow(), now=START)
    assert e.stop_messages()
    assert (e.checkins, e.next_checkin_at, e.messages_allowed) == (STOPPED, None, False)
    assert not e.stop_messages()
    with pytest.raises(Conflict):
        e.start_checkins(method="verbal", channel="sms", cadence_days=7, window=ContactWindow(), now=START)


def test_no_phone_no_text_check_ins():
    with pytest.raises(Conflict):
        engagement(phone=None).start_checkins(method="verbal", channel="sms", cadence_days=7,
                                              window=ContactWindow(), now=START)


def test_silence_levels_at_seven_and_fourteen_days_once_each():
    e = engagement()
    assert e.silence(START + timedelta(days=6, hours=23), 7, 14) is None
    assert e.silence(START + timedelta(days=7), 7, 14) == 1
    assert e.silence(START + timedelta(days=8), 7, 14) is None  # level 1 already told
    assert e.silence(START + timedelta(days=14), 7, 14) == 2
    assert e.silence(START + timedelta(days=30), 7, 14) is None
    assert [p["level"] for t, p in e.events if t == "engagement.silence_detected"] == [1, 2]


def test_a_contact_or_an_answer_starts_the_silence_count_again():
    e = engagement()
    assert e.silence(START + timedelta(days=7), 7, 14) == 1
    e.record_contact(contact("reached", START + timedelta(days=7, hours=1)))
    assert e.silence_level == 0
    assert e.silence(START + timedelta(days=13), 7, 14) is None
    assert e.silence(START + timedelta(days=14, hours=1), 7, 14) == 1
    e.answered(START + timedelta(days=15))
    assert e.silence(START + timedelta(days=21), 7, 14) is None
    assert e.silence(START + timedelta(days=22), 7, 14) == 1


def test_unsuccessful_contacts_do_not_break_a_silence():
    e = engagement()
    e.record_contact(contact("no_answer", START + timedelta(days=6)))
    assert e.silence(START + timedelta(days=7), 7, 14) == 1


def test_the_end_purges_contact_details_and_stops_everything():
    e = engagement(email="ana@example.org")
    e.start_checkins(method="verbal", channel="sms", cadence_days=7, window=ContactWindow(), now=START)
    assert e.end("consent_revoked", START + timedelta(days=1))
    assert (e.phone, e.email, e.checkins, e.next_checkin_at) == (None, None, STOPPED, None)
    assert not e.end("referral_closed", START + timedelta(days=2))
    assert e.ended_reason == "consent_revoked"
    assert e.silence(START + timedelta(days=30), 7, 14) is None
    with pytest.raises(Conflict):
        e.record_contact(contact("reached", START + timedelta(days=2)))


def test_check_ins_by_email_for_a_participant_with_an_email_and_no_phone():
    window = ContactWindow()
    only_email = engagement(phone=None, email="p@example.org")
    only_email.start_checkins(method="verbal", channel=None, cadence_days=7, window=window, now=START)
    assert (only_email.channel, only_email.checkins, only_email.address) == ("email", ON, "p@example.org")
    assert only_email.messages_allowed
    # Someone with both chooses email; a phone alone stays on texts.
    both = engagement(email="p@example.org")
    both.start_checkins(method="written", channel="email", cadence_days=7, window=window, now=START)
    assert both.address == "p@example.org"
    texts = engagement()
    texts.start_checkins(method="verbal", channel=None, cadence_days=7, window=window, now=START)
    assert (texts.channel, texts.address) == ("sms", "+15555550100")
    # No address for the channel, or a double opt-in by text for email, is refused.
    with pytest.raises(Conflict):
        engagement().start_checkins(method="verbal", channel="email", cadence_days=7, window=window,
                                    now=START)
    with pytest.raises(Conflict):
        engagement(email="p@example.org").start_checkins(method="text_reply", channel="email",
                                                         cadence_days=7, window=window, now=START)
    only_email.stop_messages()
    assert not only_email.messages_allowed
