"""Writing a referral and staging the events it recorded, in the unit of work's transaction."""

from __future__ import annotations

from services.kit.errors import NotFound
from services.referrals.domain import Referral


def publish_events(uow, referral: Referral) -> None:
    """Stage the referral's recorded events in the outbox of the current transaction.

    Raises ``ContractError`` when an event does not match the catalog.
    """
    for domain_event in referral.events:
        uow.publish(domain_event.type, domain_event.payload(), aggregate_id=referral.id)
    referral.events.clear()


def save(uow, referral: Referral) -> None:
    """Write the referral and stage its events, in the same transaction.

    Raises ``Conflict`` when someone else saved the referral since it was loaded.
    """
    uow.referrals.save(referral)
    publish_events(uow, referral)


def visible_referral(uow, referral_id: str, agency_id: str) -> Referral:
    """The referral, if ``agency_id`` may see it.

    Raises ``NotFound`` for an unknown id and for agencies that neither referred nor were assigned.
    """
    referral = uow.referrals.get(referral_id)
    if referral is None:
        raise NotFound("No such referral.")
    referral.ensure_visible_to(agency_id)
    return referral
