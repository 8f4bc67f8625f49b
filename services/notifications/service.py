"""The notifications service: events in, webhooks, emails and text messages out.

Run with ``nameko run --config services/notifications/config.yml services.notifications.service``.
Each entrypoint loads the caller, calls one handler and dumps; the work is in ``handlers``.
"""

from __future__ import annotations

from typing import Any

from services.kit.contract import Event
from services.kit.dependencies import Clock, Database
from services.kit.entrypoints import Wake, every, rpc, subscribe
from services.kit.messages import load, load_caller, shared
from services.kit.resolver import resolve_on_threads
from services.notifications.adapters.orm import metadata
from services.notifications.adapters.outbound import OutboundChannels
from services.notifications.adapters.repository import notification_repositories
from services.notifications.domain.commands import (
    ChangeSettings,
    ReadDeliveryLog,
    ReadSettings,
    SendTestWebhook,
)
from services.notifications.handlers import delivery_log, escalation, events, settings, subscriptions
from services.notifications.handlers.dispatch import dispatch_due, send_test_webhook
from services.notifications.schemas import (
    PAGE_SIZE,
    DeliveryLogEntrySchema,
    DeliveryPageSchema,
    NotificationListQuery,
    decode_page,
    encode_page,
)

resolve_on_threads()  # before anything resolves a name (services/kit/resolver.py)


class NotificationsService:
    name = "notifications"

    db = Database(metadata, repositories=notification_repositories, sealed=True)
    clock = Clock()
    outbound = OutboundChannels()
    wake = Wake()

    @subscribe("referral.status_changed", "match.proposed", "match.accepted", "match.declined",
               "match.expired", "match.withdrawn", "match.waitlisted", "consent.revoked", "consent.expired",
               "mentor.certification_expiring")
    def on_event(self, event: Event) -> None:
        planned: list[int] = []
        self.db.handle(event, lambda e, uow, now: planned.append(events.notify(e, uow, now)),
                       self.clock())
        if sum(planned):
            self.wake("dispatch")  # sent now, not at the next sweep

    # Woken by the deliveries this process plans; the interval sweeps up retries, deliveries
    # released from quiet hours and other replicas' work. Claims keep two replicas from sending
    # one delivery twice.
    @every("DISPATCH_INTERVAL_SECONDS", 5.0, wakeable=True)
    def dispatch(self) -> None:
        outbound = self.outbound
        dispatch_due(self.db, outbound.channels, self.clock, outbound.policy, outbound.send_all)

    # Each proposal is marked when it escalates, so a second run plans nothing again.
    @every("ESCALATION_CHECK_SECONDS", 5.0)
    def escalate(self) -> None:
        escalation.escalate(self.db, self.clock(), self.outbound.policy.escalate_after)

    # Heartbeats of FHIR Subscriptions; their ids are per period, so two replicas plan one.
    @every("HEARTBEAT_CHECK_SECONDS", 5.0)
    def heartbeat(self) -> None:
        subscriptions.heartbeats(self.db, self.clock())

    @rpc
    def ping(self) -> str:
        return "ok"

    @rpc
    def health(self) -> dict[str, str]:
        """This process's view of its database, for ``GET /ready``: ``{"database": "ok"}``."""
        return {"database": self.db.check()}

    @rpc
    def put_settings(self, caller: dict, request: Any) -> dict:
        """The agency's new settings; ``webhook_secret`` only when just set or rotated."""
        command = ChangeSettings(load_caller(caller), request)
        change = settings.put_settings(command, self.db, self.clock(), self.outbound.webhooks)
        return change.settings.public_view(change.revealed_secret)

    @rpc
    def get_settings(self, caller: dict) -> dict:
        """The agency's settings, never with the webhook secret."""
        return settings.get_settings(ReadSettings(load_caller(caller)), self.db).public_view()

    @rpc
    def send_test(self, caller: dict) -> dict:
        """A signed ``notification.test`` sent to the caller's webhook now: the delivery as the
        log shows it, with this attempt's outcome."""
        command = SendTestWebhook(load_caller(caller))
        outbound = self.outbound
        delivery = send_test_webhook(command, self.db, outbound.channels, self.clock, outbound.policy)
        return shared(DeliveryLogEntrySchema).dump(delivery)

    @rpc
    def deliveries(self, caller: dict, page: str | None = None, status: str | None = None) -> dict:
        """``{"items", "next_page"}``: the caller's own delivery log (in ``status`` only), newest first."""
        wanted = load(NotificationListQuery(), {"status": status} if status is not None else {})
        query = ReadDeliveryLog(load_caller(caller), decode_page(page), PAGE_SIZE, wanted.get("status"))
        items, cursor = delivery_log.delivery_log(query, self.db)
        return shared(DeliveryPageSchema).dump({"items": items, "next_page": encode_page(cursor)})

    # -- FHIR Subscriptions (the gateway maps them to and from FHIR) ------------------------------

    @rpc
    def create_subscription(self, caller: dict, body: dict) -> dict:
        """``body``: ``topic``, ``endpoint``, ``heartbeat_seconds``; a requested subscription."""
        agency_id = load_caller(caller).agency_id
        made = subscriptions.create(self.db, agency_id, body, self.clock(), self.outbound.webhooks)
        return made.public_view()

    @rpc
    def get_subscription(self, caller: dict, subscription_id: str) -> dict:
        return subscriptions.read(self.db, load_caller(caller).agency_id, subscription_id).public_view()

    @rpc
    def list_subscriptions(self, caller: dict, status: str | None = None) -> list[dict]:
        found = subscriptions.search(self.db, load_caller(caller).agency_id, status)
        return [s.public_view() for s in found]

    @rpc
    def turn_off_subscription(self, caller: dict, subscription_id: str) -> dict:
        agency_id = load_caller(caller).agency_id
        return subscriptions.turn_off(self.db, agency_id, subscription_id).public_view()

    @rpc
    def delete_subscription(self, caller: dict, subscription_id: str) -> None:
        subscriptions.delete(self.db, load_caller(caller).agency_id, subscription_id)
