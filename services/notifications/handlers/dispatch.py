"""The dispatch timer: send the deliveries that are due, record each attempt, retry later.

``dispatch_due`` claims due rows and commits before it sends, so a slow receiver never holds the
database; the batch's outcomes are then recorded together in one short transaction, each only if
its claim still holds.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from services.kit.errors import Conflict, Forbidden
from services.notifications.adapters.channels import Channels, SendAll
from services.notifications.adapters.delivery_repository import Claimed
from services.notifications.domain.commands import SendTestWebhook
from services.notifications.domain.delivery import FAILED, SENT, Delivery
from services.notifications.domain.message import NOTIFICATION_TEST, SUBSCRIPTION_HANDSHAKE, build_message
from services.notifications.domain.outcome import SendOutcome
from services.notifications.domain.planning import respect_quiet_hours
from services.notifications.domain.quiet_hours import release_time
from services.notifications.domain.retry import DispatchPolicy
from services.notifications.domain.settings import AgencySettings
from services.notifications.domain.subscriptions import ACTIVE, CHANNEL, ERROR, REQUESTED, Subscription

log = logging.getLogger(__name__)

def dispatch_due(uow, channels: Channels, clock: Callable[[], datetime], policy: DispatchPolicy,
             send_all: SendAll = map) -> int:
    """Send the deliveries that are due; returns how many were attempted.

    Claims a batch and commits, sends outside any transaction (``send_all`` may send
    concurrently but must yield outcomes in order), then records each attempt and
    publishes ``notification.delivered`` / ``notification.failed`` when one ends. A send that
    raises is recorded as a final failure; it never stops the batch.

    The claim is one statement, and nothing needs to commit with it (the settings and
    subscriptions are read, a delivery held for quiet hours is deferred by a statement of its
    own), so each statement commits by itself (``each_statement_alone``). A claim committed by
    a unit that then fails, or late by a stalled server, holds its rows until the lease runs
    out, as a dispatcher that died while sending would.
    """
    token = str(uuid.uuid4())
    with uow.each_statement_alone():
        now = clock()
        claimed = uow.deliveries.claim_due(now, now + policy.lease, token, policy.batch_size)
        settings = {a: uow.settings.settings_of(a) for a in {c.delivery.agency_id for c in claimed}}
        subscriptions = {i: uow.subscriptions.get(i) for i in {
            c.message.data["subscription_id"] for c in claimed if c.delivery.channel == CHANNEL}}
        ready = [c for c in claimed if not _held_for_quiet_hours(uow, c, settings, now)]
        uow.commit()

    def send(item: Claimed) -> SendOutcome:
        subscription = (subscriptions.get(item.message.data["subscription_id"])
                        if item.delivery.channel == CHANNEL else None)
        return _send(channels, item, settings[item.delivery.agency_id], subscription)

    outcomes = list(zip(ready, send_all(send, ready), strict=True))
    if outcomes:
        _record(uow, outcomes, settings, clock(), policy, token)
    return len(ready)


def send_test_webhook(command: SendTestWebhook, uow, channels: Channels,
                      clock: Callable[[], datetime], policy: DispatchPolicy) -> dict[str, Any]:
    """Send a signed ``notification.test`` to the caller's webhook now, through the same
    rendering, signing, address checks and attempt log as every delivery; answers the delivery
    as the log shows it. A retryable failure is retried by the dispatch timer like any other.

    ``Forbidden`` for anyone but the agency's admin; ``Conflict`` when no webhook URL is set.
    """
    caller = command.caller
    if not caller.is_admin:
        raise Forbidden("Only the agency's admin sends a test webhook.")
    token = str(uuid.uuid4())
    with uow:
        settings = uow.settings.settings_of(caller.agency_id)
        if settings is None or not settings.webhook_url:
            raise Conflict("Set a webhook URL before sending a test.")
        now = clock()
        message = build_message(str(uuid.uuid4()), NOTIFICATION_TEST, now,
                                {"agency_id": caller.agency_id})
        delivery = Delivery.create(message.id, message.kind, caller.agency_id, "webhook", now)
        delivery.next_attempt_at = now + policy.lease  # held by this request until sent
        uow.deliveries.add(delivery, message, now)
        uow.deliveries.hold(delivery.id, token)
        uow.commit()
    item = Claimed(delivery, message)
    _record(uow, [(item, _send(channels, item, settings))], {caller.agency_id: settings}, clock(),
            policy, token)
    return {**delivery.to_log_entry(), "created_at": now.isoformat()}


def _held_for_quiet_hours(uow, item: Claimed, settings: dict[str, AgencySettings | None],
                          now: datetime) -> bool:
    # Quiet hours may have been set or moved since the delivery was planned.
    agency = settings[item.delivery.agency_id]
    release = release_time(agency.quiet_hours if agency else None, item.message.urgency, now,
                           item.delivery.channel)
    if release <= now:
        return False
    item.delivery.defer_until(release)
    uow.deliveries.save(item.delivery)
    return True


def _send(channels: Channels, item: Claimed, settings: AgencySettings | None,
          subscription: Subscription | None = None) -> SendOutcome:
    if settings is None:
        return SendOutcome(False, "agency has no notification settings", False)
    try:
        if subscription is not None:
            return channels.send(item.delivery, item.message, settings, subscription)
        return channels.send(item.delivery, item.message, settings)
    except Exception as error:  # noqa: BLE001 - one broken delivery must not stop the batch
        log.exception("delivery %s could not be rendered or sent", item.delivery.id)
        return SendOutcome(False, f"internal error ({type(error).__name__})", False)


def _record(uow, outcomes: list[tuple[Claimed, SendOutcome]],
            settings: dict[str, AgencySettings | None], now: datetime, policy: DispatchPolicy,
            token: str) -> None:
    """Record the attempts of one batch in one transaction, each only if its claim still holds."""
    with uow:
        held = uow.deliveries.still_held([item.delivery.id for item, _ in outcomes], token)
        recorded = []
        for item, outcome in outcomes:
            delivery = item.delivery
            if delivery.id not in held:
                log.warning("delivery %s: claim lost while sending; not recorded", delivery.id)
                continue
            delivery.record_attempt(outcome, now, policy.retry)
            agency = settings[delivery.agency_id]
            if agency is not None:
                respect_quiet_hours(delivery, agency, item.message.urgency)
            if delivery.channel == CHANNEL and item.message.kind == SUBSCRIPTION_HANDSHAKE:
                _after_handshake(uow, item.message.data["subscription_id"], delivery.status)
            for event in delivery.events:
                uow.publish(event.type, event.payload, aggregate_id=delivery.id)
            recorded.append((delivery, outcome))
        uow.deliveries.save_all([delivery for delivery, _ in recorded])
        uow.commit()
    for delivery, outcome in recorded:
        # Ids, channel and the adapter's detail only: it never carries an address or a body.
        log.log(logging.WARNING if delivery.status == FAILED else logging.INFO,
                "delivery %s over %s: attempt %d %s (%s)", delivery.id, delivery.channel,
                len(delivery.attempts), delivery.status, outcome.detail)


def _after_handshake(uow, subscription_id: str, status: str) -> None:
    # A requested subscription becomes active once its endpoint took the handshake, and turns
    # to error when it never did; one turned off meanwhile stays off.
    if status == SENT:
        uow.subscriptions.set_status(subscription_id, ACTIVE, (REQUESTED,))
    elif status == FAILED:
        uow.subscriptions.set_status(subscription_id, ERROR, (REQUESTED,), "handshake_failed")
