"""One function per command and query of the referrals service. No nameko here.

``uow`` is the kit's unit of work, not yet entered: handlers that ask consent something do so
before opening it, so no transaction (nor SQLite's writer gate) is held during an RPC.
``consent`` has the calls of docs/rpc.md (``adapters.consent.ConsentClient`` in the service).
The reactions to other services' events are in ``event_handlers``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from services.kit.crypto import KeyRing
from services.kit.errors import Conflict, ConsentRequired, NotFound
from services.referrals.adapters.repository import ReferralRepository
from services.referrals.domain import Referral
from services.referrals.domain.commands import (
    CancelReferral,
    ListReferrals,
    OpenHandoff,
    ReadReferral,
    ReportReferralStatus,
    RequestReferral,
)
from services.referrals.domain.views import referral_view

PURPOSE = "peer-support-referral"
# Creating a referral lets the network hold the reason for some peer group the consent covers;
# the handoff gives the assigned peer group what it needs to reach the participant.
REFERRAL_DATA_CLASSES = ["referral-reason"]
HANDOFF_DATA_CLASSES = ["contact", "demographics"]


class ConsentClient(Protocol):
    def authorize(self, **request: Any) -> dict[str, Any]: ...
    def disclose(self, **request: Any) -> dict[str, Any]: ...
    def record_access(self, **request: Any) -> dict[str, Any]: ...


# -- commands and queries (RPC) -----------------------------------------------------------------

def create_referral(command: RequestReferral, uow, consent: ConsentClient, ring: KeyRing,
                    now: datetime) -> dict[str, Any]:
    """Authorize with consent, then record the referral and stage ``referral.requested``.

    Raises ``ConsentRequired`` (with consent's deny ``reason``) and ``InvalidRequest``.
    """
    decision = consent.authorize(
        discloser=command.referrer_agency_id, recipient={"class": "peer_group"}, purpose=PURPOSE,
        data_classes=REFERRAL_DATA_CLASSES, participant_id=command.participant_id,
        consent_id=command.consent_id)
    if not decision.get("permit"):
        raise ConsentRequired("No consent in force covers this referral.", reason=decision.get("reason"))
    referral = Referral.request(
        referrer_agency_id=command.referrer_agency_id, participant_id=command.participant_id,
        consent_id=command.consent_id, reason=command.reason, urgency=command.urgency,
        needs=command.needs, allowed=decision.get("allowed") or {}, at=now)
    with uow:
        referrals = ReferralRepository(uow.session, ring)
        referrals.add(referral)
        publish_events(uow, referral)
        uow.commit()
    return referral_view(referral, command.referrer_agency_id)


def read_referral(query: ReadReferral, uow, ring: KeyRing) -> dict[str, Any]:
    """The referral as the agency may see it. Raises ``NotFound`` for strangers and unknown ids."""
    with uow:
        referral = _visible(ReferralRepository(uow.session, ring), query.referral_id,
                            query.agency_id, oversight=query.oversight)
    return referral_view(referral, query.agency_id, oversight=query.oversight)


def list_referrals(query: ListReferrals, uow, ring: KeyRing, page_size: int) -> dict[str, Any]:
    """``{"items", "next_page"}``: the agency's own or assigned referrals, newest first.

    Raises ``InvalidRequest`` for a ``page`` cursor this listing did not hand out.
    """
    with uow:
        items, next_page = ReferralRepository(uow.session, ring).page(
            agency_id=None if query.oversight else query.agency_id, status=query.status,
            cursor=query.cursor, limit=page_size)
    return {"items": [referral_view(r, query.agency_id, oversight=query.oversight) for r in items],
            "next_page": next_page}


def cancel_referral(command: CancelReferral, uow, ring: KeyRing, now: datetime) -> dict[str, Any]:
    """The referrer withdraws its referral; the handoff closes with it.

    Raises ``NotFound``, ``Forbidden`` (not the referrer), ``Conflict`` (final or changed
    meanwhile) and ``InvalidRequest`` (no reason).
    """
    with uow:
        referrals = ReferralRepository(uow.session, ring)
        referral = _visible(referrals, command.referral_id, command.agency_id)
        referral.cancel(by=command.agency_id, reason=command.reason, at=now)
        save(uow, referrals, referral)
        uow.commit()
    return referral_view(referral, command.agency_id)


def report_status(command: ReportReferralStatus, uow, ring: KeyRing, now: datetime) -> dict[str, Any]:
    """The assigned peer group reports progress (in-progress, on-hold, completed, failed).

    Raises ``NotFound``, ``Forbidden``, ``Conflict`` (lifecycle) and ``InvalidRequest`` (reason).
    """
    with uow:
        referrals = ReferralRepository(uow.session, ring)
        referral = _visible(referrals, command.referral_id, command.agency_id)
        referral.report_status(by=command.agency_id, status=command.status, reason=command.reason,
                               at=now)
        save(uow, referrals, referral)
        uow.commit()
    return referral_view(referral, command.agency_id)


def open_handoff(command: OpenHandoff, uow, consent: ConsentClient, ring: KeyRing) -> dict[str, Any]:
    """The handoff packet, for the assigned peer group while its handoff is open.

    Consent is asked afresh (a revocation may not have reached us yet) and the read is ledgered
    before the packet is returned, so no read goes unrecorded. Raises ``NotFound`` (strangers),
    ``Forbidden`` (the referrer), ``Conflict`` (closed) and ``ConsentRequired``.
    """
    with uow:
        referrals = ReferralRepository(uow.session, ring)
        referral = _visible(referrals, command.referral_id, command.agency_id)
        referral.ensure_handoff_for(command.agency_id)
        packet = referrals.handoff(referral.id)
    if packet is None or packet["agency_id"] != command.agency_id:
        raise Conflict("No handoff has been disclosed for this referral.")
    decision = consent.authorize(**handoff_request(referral))
    if not decision.get("permit"):
        raise ConsentRequired("The consent no longer covers this handoff.", reason=decision.get("reason"))
    consent.record_access(actor=command.agency_id, participant_id=referral.participant_id,
                          what=f"handoff:{referral.id}")
    return {"referral_id": referral.id, "participant": packet["participant"],
            "consent": packet["consent"], "redisclosure_notice": packet["redisclosure_notice"],
            "disclosed_at": packet["disclosed_at"].isoformat()}


# -- shared -------------------------------------------------------------------------------------

def publish_events(uow, referral: Referral) -> None:
    """Stage the referral's recorded events in the outbox of the current transaction."""
    for domain_event in referral.events:
        uow.publish(domain_event.type, domain_event.payload(), aggregate_id=referral.id)
    referral.events.clear()


def save(uow, referrals: ReferralRepository, referral: Referral) -> None:
    """Write the referral and stage its events, in the same transaction."""
    referrals.save(referral)
    publish_events(uow, referral)


def _visible(referrals: ReferralRepository, referral_id: str, agency_id: str, *,
             oversight: bool = False) -> Referral:
    referral = referrals.get(referral_id)
    if referral is None:
        raise NotFound("No such referral.")
    if not oversight:
        referral.ensure_visible_to(agency_id)
    return referral


def handoff_request(referral: Referral, agency_id: str | None = None) -> dict[str, Any]:
    """What consent is asked before the participant's details reach a peer group (by default
    the assigned one)."""
    return {"discloser": referral.referrer_agency_id,
            "recipient": {"agency_id": agency_id or referral.assigned_agency_id, "kind": "peer_group"},
            "purpose": PURPOSE, "data_classes": HANDOFF_DATA_CLASSES,
            "participant_id": referral.participant_id, "consent_id": referral.consent_id}
