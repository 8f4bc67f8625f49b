"""What the notifications service does with each event, request and timer tick.

Event handlers plan deliveries inside the caller's unit of work (the kit's inbox
commits them with the event id). ``escalate`` and ``dispatch`` run on the timer and
open their own short transactions: ``dispatch`` claims due rows and commits before
it sends, so a slow receiver never holds the database.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from services.kit.contract import Event
from services.kit.crypto import KeyRing
from services.kit.messages import Caller
from services.kit.unit_of_work import UnitOfWork
from services.notifications.adapters.channels import Channels
from services.notifications.adapters.repository import Claimed, NotificationsRepository
from services.notifications.domain.delivery import FAILED
from services.notifications.domain.message import Message, message_for
from services.notifications.domain.outcome import SendOutcome
from services.notifications.domain.planning import plan_deliveries, respect_quiet_hours
from services.notifications.domain.quiet_hours import release_time
from services.notifications.domain.retry import DeliveryRetryPolicy
from services.notifications.domain.routing import (
    PROPOSAL_CLOSERS,
    PendingProposal,
    due_escalations,
    recipients,
)
from services.notifications.domain.settings import AgencySettings
from services.notifications.domain.settings_request import (
    SettingsChange,
    WebhookPolicy,
    apply_settings,
)
from services.notifications.schemas import Cursor

log = logging.getLogger(__name__)

CONSENT_ENDED = ("consent.revoked", "consent.expired")
SendAll = Callable[[Callable[[Claimed], SendOutcome], Iterable[Claimed]], Iterator[SendOutcome]]


@dataclass(frozen=True)
class DispatchPolicy:
    """How deliveries go out: retries, escalation delay, claim lease and batch size."""

    retry: DeliveryRetryPolicy = DeliveryRetryPolicy()
    escalate_after: timedelta = timedelta(minutes=30)
    lease: timedelta = timedelta(minutes=5)  # longer than any one send may take
    batch_size: int = 100


# -- events ----------------------------------------------------------------------------------

def notify(event: Event, uow: UnitOfWork, ring: KeyRing, now: datetime) -> int:
    """Plan the deliveries ``event`` gives rise to; returns how many are new.

    Keeps the records routing needs (handoffs, urgent proposals awaiting an answer).
    An agency without settings hears nothing. Raises ``UnsafeMessage`` when a
    whitelisted field does not hold an id or code: the kit parks such an event.
    """
    repo = NotificationsRepository(uow.session, ring)
    _track(event, repo, now)
    handoff_agencies = (repo.handoff_agencies(event.payload["participant_id"])
                        if event.type in CONSENT_ENDED else ())
    return sum(_plan(repo, message_for(event, r.kind), r.agency_id, now)
               for r in recipients(event, handoff_agencies))


def _track(event: Event, repo: NotificationsRepository, now: datetime) -> None:
    payload = event.payload
    if event.type == "referral.status_changed":
        if payload["to_status"] == "accepted" and payload.get("assigned_agency_id"):
            repo.remember_handoff(payload["participant_id"], payload["assigned_agency_id"], now)
    elif event.type == "match.proposed":
        if payload["urgency"] == "urgent":
            repo.add_pending(PendingProposal.from_event(event))
    elif event.type in PROPOSAL_CLOSERS:
        repo.remove_pending(payload["match_id"])


def _plan(repo: NotificationsRepository, message: Message, agency_id: str, now: datetime) -> int:
    settings = repo.settings_of(agency_id)
    if settings is None:
        return 0
    return sum(repo.add_delivery(d, message, now) for d in plan_deliveries(message, settings, now))


# -- requests --------------------------------------------------------------------------------

def put_settings(caller: Caller, body: Any, uow: UnitOfWork, ring: KeyRing,
                 now: datetime, webhooks: WebhookPolicy = WebhookPolicy()) -> SettingsChange:
    """Replace the caller's settings. Raises ``InvalidRequest`` with field errors."""
    repo = NotificationsRepository(uow.session, ring)
    change = apply_settings(caller.agency_id, caller.kind, caller.roles, body,
                            repo.settings_of(caller.agency_id), webhooks)
    repo.save_settings(change.settings, now)
    return change


def get_settings(caller: Caller, uow: UnitOfWork, ring: KeyRing) -> AgencySettings:
    """The caller's settings, or the defaults (nothing configured) when it set none."""
    found = NotificationsRepository(uow.session, ring).settings_of(caller.agency_id)
    return found or AgencySettings(caller.agency_id, caller.kind, caller.roles)


def delivery_log(caller: Caller, after: Cursor | None, limit: int, uow: UnitOfWork,
                 ring: KeyRing) -> tuple[list[dict[str, Any]], Cursor | None]:
    """One page of the caller's own deliveries, newest first, and the cursor of the next."""
    rows = NotificationsRepository(uow.session, ring).delivery_log(caller.agency_id, after, limit + 1)
    items = [{**d.to_log_entry(), "created_at": at.isoformat()} for d, at in rows[:limit]]
    more = len(rows) > limit
    return items, (rows[limit - 1][1], rows[limit - 1][0].id) if more else None


# -- the timer -------------------------------------------------------------------------------

def escalate(uow: UnitOfWork, ring: KeyRing, now: datetime, after: timedelta) -> int:
    """Plan messages to network admins about urgent proposals unanswered for ``after``."""
    with uow:
        repo = NotificationsRepository(uow.session, ring)
        escalations = due_escalations(repo.unescalated(), now, repo.network_admins(), after)
        planned = sum(_plan(repo, e.message, e.recipient.agency_id, now) for e in escalations)
        repo.mark_escalated({e.proposal.match_id for e in escalations}, now)
        uow.commit()
    return planned


def dispatch(uow: UnitOfWork, ring: KeyRing, channels: Channels, clock: Callable[[], datetime],
             policy: DispatchPolicy, send_all: SendAll = map) -> int:
    """Send the deliveries that are due; returns how many were attempted.

    Claims a batch and commits, sends outside any transaction (``send_all`` may send
    concurrently but must yield outcomes in order), then records each attempt and
    publishes ``notification.delivered`` / ``notification.failed`` when one ends.
    """
    token = str(uuid.uuid4())
    with uow:
        repo = NotificationsRepository(uow.session, ring)
        now = clock()
        claimed = repo.claim_due(now, now + policy.lease, token, policy.batch_size)
        settings = {a: repo.settings_of(a) for a in {c.delivery.agency_id for c in claimed}}
        ready = [c for c in claimed if not _held_for_quiet_hours(repo, c, settings, now)]
        uow.commit()

    def send(item: Claimed) -> SendOutcome:
        return _send(channels, item, settings[item.delivery.agency_id])

    for item, outcome in zip(ready, send_all(send, ready), strict=True):
        _record(uow, ring, item, outcome, settings[item.delivery.agency_id], clock(), policy, token)
    return len(ready)


def _held_for_quiet_hours(repo: NotificationsRepository, item: Claimed,
                          settings: dict[str, AgencySettings | None], now: datetime) -> bool:
    # Quiet hours may have been set or moved since the delivery was planned.
    agency = settings[item.delivery.agency_id]
    release = release_time(agency.quiet_hours if agency else None, item.message.urgency, now,
                           item.delivery.channel)
    if release <= now:
        return False
    item.delivery.defer_until(release)
    repo.save_delivery(item.delivery)
    return True


def _send(channels: Channels, item: Claimed, settings: AgencySettings | None) -> SendOutcome:
    if settings is None:
        return SendOutcome(False, "agency has no notification settings", False)
    try:
        return channels.send(item.delivery, item.message, settings)
    except Exception as error:  # noqa: BLE001 - one broken delivery must not stop the batch
        log.exception("delivery %s could not be rendered or sent", item.delivery.id)
        return SendOutcome(False, f"internal error ({type(error).__name__})", False)


def _record(uow: UnitOfWork, ring: KeyRing, item: Claimed, outcome: SendOutcome,
            settings: AgencySettings | None, now: datetime, policy: DispatchPolicy,
            token: str) -> None:
    delivery = item.delivery
    with uow:
        repo = NotificationsRepository(uow.session, ring)
        if not repo.holds_claim(delivery.id, token):
            log.warning("delivery %s: claim lost while sending; not recorded", delivery.id)
            return
        delivery.record_attempt(outcome, now, policy.retry)
        if settings is not None:
            respect_quiet_hours(delivery, settings, item.message.urgency)
        repo.save_delivery(delivery)
        for event in delivery.events:
            uow.publish(event.type, event.payload, aggregate_id=delivery.id)
        uow.commit()
    # Ids, channel and the adapter's detail only: it never carries an address or a body.
    log.log(logging.WARNING if delivery.status == FAILED else logging.INFO,
            "delivery %s over %s: attempt %d %s (%s)", delivery.id, delivery.channel,
            len(delivery.attempts), delivery.status, outcome.detail)
