"""The notifications service's repositories, as its unit of work carries them.

``uow.settings`` (agencies' settings, sealed), ``uow.deliveries`` (planned deliveries and their
attempts), ``uow.pending_proposals`` (urgent proposals awaiting an answer) and ``uow.handoffs``
(which agencies received a participant's handoff), ``uow.subscriptions`` (FHIR Subscriptions).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from services.kit.crypto import KeyRing
from services.notifications.adapters.delivery_repository import DeliveryRepository
from services.notifications.adapters.routing_repository import HandoffRepository, PendingProposalRepository
from services.notifications.adapters.settings_repository import SettingsRepository
from services.notifications.adapters.subscription_repository import SubscriptionRepository


def notification_repositories(session: Session, ring: KeyRing) -> dict[str, Any]:
    """What each unit of work of the service carries, by name."""
    return {"settings": SettingsRepository(session, ring), "deliveries": DeliveryRepository(session),
            "pending_proposals": PendingProposalRepository(session), "handoffs": HandoffRepository(session),
            "subscriptions": SubscriptionRepository(session, ring)}
