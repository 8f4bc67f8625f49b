"""The settings and delivery-log handlers on a fake unit of work: what an agency sets and sees."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fake_repositories import repository, unit_of_work
from notification_builders import NOW, agency, event, match_payload

from services.kit.errors import InvalidRequest
from services.kit.messages import Caller
from services.notifications.domain.commands import ChangeSettings, ReadDeliveryLog, ReadSettings
from services.notifications.handlers.delivery_log import delivery_log
from services.notifications.handlers.events import notify
from services.notifications.handlers.settings import get_settings, put_settings

PEERS = Caller("ag-peers", "peer_group", frozenset({"coordinator"}))
OTHER = Caller("ag-other", "peer_group", frozenset({"coordinator"}))
BODY = {"webhook_url": "https://peers.example/hooks", "email": "intake@peers.example", "language": "es"}


def test_new_settings_are_saved_and_the_webhook_secret_is_shown_once():
    uow = unit_of_work()
    change = put_settings(ChangeSettings(PEERS, BODY), uow, NOW)
    assert change.revealed_secret and change.revealed_secret.startswith("whsec_")
    assert uow.commits == 1
    stored = repository(uow, "settings").settings_of("ag-peers")
    assert stored.webhook_secret == change.revealed_secret and stored.language == "es"
    again = put_settings(ChangeSettings(PEERS, {**BODY, "language": "en"}), uow, NOW)
    assert again.revealed_secret is None and again.settings.webhook_secret == change.revealed_secret
    read = get_settings(ReadSettings(PEERS), uow).public_view()
    assert read["language"] == "en" and read["webhook_secret_set"] is True
    assert "webhook_secret" not in read


def test_invalid_settings_name_the_field_and_save_nothing():
    uow = unit_of_work()
    with pytest.raises(InvalidRequest) as refused:
        put_settings(ChangeSettings(PEERS, {**BODY, "email": "not an address"}), uow, NOW)
    assert "email" in refused.value.errors
    assert repository(uow, "settings").stored == {} and uow.commits == 0


def test_an_agency_that_set_nothing_reads_the_defaults():
    read = get_settings(ReadSettings(OTHER), unit_of_work(agency("ag-peers"))).public_view()
    assert read["agency_id"] == "ag-other"
    assert (read["webhook_url"], read["email"], read["phone"], read["webhook_secret_set"]) == (
        None, None, None, False)


def test_the_delivery_log_shows_only_the_callers_own_deliveries_newest_first_in_pages():
    uow = unit_of_work(agency("ag-peers", phone=None), agency("ag-other", phone=None))
    for minutes in range(3):
        at = NOW + timedelta(minutes=minutes)
        uow.handle(event("match.proposed", match_payload(match_id=f"mt-{minutes}"), at), notify, at)
    uow.handle(event("match.proposed", match_payload(mentor_agency_id="ag-other")), notify, NOW)
    seen, after = [], None
    while True:
        items, after = delivery_log(ReadDeliveryLog(PEERS, after, 4), uow)
        assert len(items) <= 4
        seen += items
        if after is None:
            break
    assert len(seen) == 6 and {item["agency_id"] for item in seen} == {"ag-peers"}
    stamps = [item["created_at"] for item in seen]
    assert stamps == sorted(stamps, reverse=True)
    assert len({item["id"] for item in seen}) == 6
    assert all(set(item) >= {"id", "event_id", "channel", "status", "attempts"} for item in seen)
    assert "intake@peers.example" not in str(seen)
    assert delivery_log(ReadDeliveryLog(Caller("ag-none", "clinic", frozenset()), None, 4), uow) == ([], None)


def test_the_delivery_log_filters_by_status():
    uow = unit_of_work(agency("ag-peers", phone=None))
    for minutes in range(3):
        at = NOW + timedelta(minutes=minutes)
        uow.handle(event("match.proposed", match_payload(match_id=f"mt-{minutes}"), at), notify, at)
    everything, _ = delivery_log(ReadDeliveryLog(PEERS, None, 50), uow)
    statuses = {item["status"] for item in everything}
    assert everything and statuses
    for status in ("pending", "deferred", "sent", "failed"):
        only, _ = delivery_log(ReadDeliveryLog(PEERS, None, 50, status), uow)
        assert [item["id"] for item in only] == [i["id"] for i in everything if i["status"] == status]
