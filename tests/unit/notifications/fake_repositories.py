"""The notifications repositories kept in memory, and a fake unit of work carrying them.

Each behaves as its SQL counterpart does for the handlers: settings and deliveries are stored
as copies (a change lands only through ``save``), a delivery key is stored once, a claim holds
its rows until saved, and the log pages newest first by ``(created_at, id)``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from services.kit.contract import Event
from services.notifications.adapters.delivery_repository import Claimed
from services.notifications.domain.delivery import DEFERRED, PENDING, Delivery
from services.notifications.domain.message import Message
from services.notifications.domain.routing import PendingProposal
from services.notifications.domain.settings import AgencySettings
from services.notifications.domain.subscriptions import ACTIVE, LISTENING, Subscription
from tests.unit.fake_unit_of_work import FakeUnitOfWork


class FakeSettings:
    def __init__(self, *agencies: AgencySettings) -> None:
        self.stored = {a.agency_id: a for a in agencies}

    def settings_of(self, agency_id: str) -> AgencySettings | None:
        return self.stored.get(agency_id)  # frozen: no copy needed

    def save_settings(self, settings: AgencySettings, now: datetime) -> None:
        self.stored[settings.agency_id] = settings

    def network_admins(self) -> list[str]:
        return sorted(a for a, s in self.stored.items() if s.is_network_admin)


class FakeDeliveries:
    def __init__(self) -> None:
        self.rows: dict[str, dict] = {}  # id -> {"delivery", "message", "created_at", "claim"}

    def add(self, delivery: Delivery, message: Message, now: datetime) -> bool:
        if any(row["delivery"].key == delivery.key for row in self.rows.values()):
            return False
        self.rows[delivery.id] = {"delivery": copy.deepcopy(delivery), "message": message,
                                  "created_at": now, "claim": None}
        return True

    def claim_due(self, now: datetime, lease_until: datetime, token: str, limit: int) -> list[Claimed]:
        due = sorted((row for row in self.rows.values()
                      if row["delivery"].status in (PENDING, DEFERRED)
                      and row["delivery"].next_attempt_at <= now),
                     key=lambda row: (row["delivery"].next_attempt_at, row["delivery"].id))[:limit]
        for row in due:
            row["claim"] = token
            row["delivery"].status, row["delivery"].next_attempt_at = PENDING, lease_until
        return [Claimed(copy.deepcopy(row["delivery"]), row["message"]) for row in due]

    def still_held(self, delivery_ids: list[str], token: str) -> set[str]:
        return {i for i in delivery_ids if self.rows[i]["claim"] == token}

    def save(self, delivery: Delivery) -> None:
        saved = copy.deepcopy(delivery)
        saved.events = []
        self.rows[delivery.id].update(delivery=saved, claim=None)

    def save_all(self, deliveries: list[Delivery]) -> None:
        for delivery in deliveries:
            self.save(delivery)

    def log_of(self, agency_id: str, after: tuple[datetime, str] | None, limit: int, *,
               status: str | None = None) -> list[tuple[Delivery, datetime]]:
        mine = sorted(((row["created_at"], row["delivery"].id, row["delivery"])
                       for row in self.rows.values() if row["delivery"].agency_id == agency_id
                       and status in (None, row["delivery"].status)),
                      key=lambda entry: entry[:2], reverse=True)
        newer = [entry for entry in mine if after is None or entry[:2] < after]
        return [(copy.deepcopy(delivery), at) for at, _, delivery in newer[:limit]]

    def of(self, agency_id: str) -> list[Delivery]:
        """A test's view: the agency's stored deliveries, by channel."""
        return sorted((row["delivery"] for row in self.rows.values()
                       if row["delivery"].agency_id == agency_id), key=lambda d: d.channel)


class FakePendingProposals:
    def __init__(self) -> None:
        self.waiting: dict[str, PendingProposal] = {}
        self.escalated: dict[str, datetime] = {}

    def add(self, proposal: PendingProposal) -> None:
        self.waiting.setdefault(proposal.match_id, proposal)

    def remove(self, match_id: str) -> None:
        self.waiting.pop(match_id, None)
        self.escalated.pop(match_id, None)

    def unescalated(self) -> list[PendingProposal]:
        return [p for m, p in self.waiting.items() if m not in self.escalated]

    def mark_escalated(self, match_ids: Iterable[str], now: datetime) -> None:
        for match_id in match_ids:
            if match_id in self.waiting:
                self.escalated[match_id] = now


class FakeHandoffs:
    def __init__(self) -> None:
        self.known: set[tuple[str, str]] = set()
        self.held: list[str] = []
        self.endings: dict[str, Event] = {}

    def remember(self, participant_id: str, agency_id: str, now: datetime) -> None:
        self.known.add((participant_id, agency_id))

    def agencies_of(self, participant_id: str) -> list[str]:
        return sorted(a for p, a in self.known if p == participant_id)

    def hold(self, participant_id: str) -> None:
        self.held.append(participant_id)

    def remember_ending(self, event: Event) -> None:
        self.endings.setdefault(event.id, event)

    def endings_after(self, participant_id: str, moment: datetime) -> list[Event]:
        return sorted((e for e in self.endings.values()
                       if e.payload["participant_id"] == participant_id and e.occurred_at > moment),
                      key=lambda e: e.occurred_at)


class FakeSubscriptions:
    def __init__(self) -> None:
        self.rows: dict[str, Subscription] = {}

    def add(self, subscription: Subscription) -> None:
        self.rows[subscription.id] = subscription

    def get(self, subscription_id: str, agency_id: str | None = None) -> Subscription | None:
        found = self.rows.get(subscription_id)
        return found if found and agency_id in (None, found.agency_id) else None

    def of_agency(self, agency_id: str, statuses: tuple[str, ...] | None = None) -> list[Subscription]:
        return [s for s in self.rows.values()
                if s.agency_id == agency_id and (statuses is None or s.status in statuses)]

    def listening_of(self, agency_id: str) -> list[Subscription]:
        return self.of_agency(agency_id, LISTENING)

    def with_heartbeats(self) -> list[Subscription]:
        return [s for s in self.rows.values() if s.status == ACTIVE and s.heartbeat_seconds]

    def save(self, subscription: Subscription) -> None:
        kept = self.rows[subscription.id].events_since_start  # counted by count_event only
        self.rows[subscription.id] = replace(subscription, events_since_start=kept)

    def count_event(self, subscription_id: str) -> int:
        found = self.rows[subscription_id]
        self.rows[subscription_id] = replace(found, events_since_start=found.events_since_start + 1)
        return found.events_since_start + 1

    def set_status(self, subscription_id: str, status: str, only_from: tuple[str, ...],
                   reason: str | None = None) -> None:
        found = self.rows.get(subscription_id)
        if found and found.status in only_from:
            self.rows[subscription_id] = replace(found, status=status, reason=reason)

    def delete(self, subscription_id: str) -> None:
        self.rows.pop(subscription_id, None)


def unit_of_work(*agencies: AgencySettings, consumer: str = "notifications.on_event") -> FakeUnitOfWork:
    """A fake unit of work whose settings hold ``agencies``; the rest starts empty."""
    return FakeUnitOfWork(source="notifications", consumer=consumer, settings=FakeSettings(*agencies),
                          deliveries=FakeDeliveries(), pending_proposals=FakePendingProposals(),
                          handoffs=FakeHandoffs(), subscriptions=FakeSubscriptions())


def repository(uow: FakeUnitOfWork, name: str):
    """The in-memory repository behind ``uow.<name>``, outside any unit of work."""
    return uow.repositories[name]
