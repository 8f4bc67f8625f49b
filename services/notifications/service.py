"""The notifications service: events in, webhooks, emails and text messages out.

Run with ``nameko run --config services/notifications/config.yml services.notifications.service``.
Each entrypoint parses, calls one handler and dumps; the work is in ``handlers``.
"""

from __future__ import annotations

from typing import Any

from nameko.rpc import rpc

from services.kit.contract import Event
from services.kit.dependencies import Clock, Database
from services.kit.encrypted import FieldKeys
from services.kit.entrypoints import every, subscribe
from services.kit.messages import load_caller
from services.notifications import handlers
from services.notifications.adapters.orm import metadata
from services.notifications.dependencies import OutboundChannels
from services.notifications.schemas import (
    PAGE_SIZE,
    DeliveryPageSchema,
    decode_page,
    encode_page,
)


class NotificationsService:
    name = "notifications"

    db = Database(metadata)
    clock = Clock()
    keys = FieldKeys()
    outbound = OutboundChannels()

    @subscribe("referral.status_changed", "match.proposed", "match.accepted", "match.declined",
               "match.expired", "match.withdrawn", "match.waitlisted", "consent.revoked", "consent.expired")
    def on_event(self, event: Event) -> None:
        self.db.handle(event, handlers.notify, self.keys, self.clock())

    # Fires in every replica; claims keep two replicas from sending one delivery twice.
    @every("DISPATCH_INTERVAL_SECONDS", 5.0)
    def dispatch(self) -> None:
        outbound = self.outbound
        handlers.escalate(self.db, self.keys, self.clock(), outbound.policy.escalate_after)
        handlers.dispatch(self.db, self.keys, outbound.channels, self.clock, outbound.policy,
                          outbound.send_all)

    @rpc
    def ping(self) -> str:
        return "ok"

    @rpc
    def put_settings(self, caller: dict, request: Any) -> dict:
        """The agency's new settings; ``webhook_secret`` only when just set or rotated."""
        agency = load_caller(caller)
        with self.db as uow:
            change = handlers.put_settings(agency, request, uow, self.keys, self.clock(),
                                           self.outbound.webhooks)
            uow.commit()
        return change.settings.public_view(change.revealed_secret)

    @rpc
    def get_settings(self, caller: dict) -> dict:
        """The agency's settings, never with the webhook secret."""
        agency = load_caller(caller)
        with self.db as uow:
            return handlers.get_settings(agency, uow, self.keys).public_view()

    @rpc
    def deliveries(self, caller: dict, page: str | None = None) -> dict:
        """``{"items", "next_page"}``: the caller's own delivery log, newest first."""
        agency, after = load_caller(caller), decode_page(page)
        with self.db as uow:
            items, cursor = handlers.delivery_log(agency, after, PAGE_SIZE, uow, self.keys)
        return DeliveryPageSchema().dump({"items": items, "next_page": encode_page(cursor)})
