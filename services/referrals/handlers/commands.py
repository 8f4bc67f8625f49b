"""The referrals service's commands: each opens the unit of work, changes one referral, commits.

``uow`` is the kit's unit of work, not yet entered: handlers that ask consent something do so
before opening it (or after closing it), so no transaction nor SQLite's writer gate is held
during an RPC.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.kit.errors import Conflict, ConsentRequired
from services.referrals.domain import Referral
from services.referrals.domain.commands import (
    CancelReferral,
    OpenHandoff,
    ReportReferralStatus,
    RequestReferral,
)
from services.referrals.domain.views import referral_view
from services.referrals.handlers.changes import publish_events, save, visible_referral
from services.referrals.handlers.consent_terms import ConsentClient, handoff_request, referral_request


def create_referral(command: RequestReferral, uow, consent: ConsentClient, now: datetime) -> dict[str, Any]:
    """Authorize with consent, then record the referral and stage ``referral.requested``.

    Raises ``ConsentRequired`` (with the refusal consent lets the referrer see as ``reason``)
    and ``InvalidRequest``.
    """
    decision = consent.authorize(**referral_request(
        command.caller.agency_id, command.participant_id, command.consent_id))
    if not decision.get("permit"):
        raise ConsentRequired("No consent in force covers this referral.", reason=decision.get("refusal"))
    referral = Referral.request(
        referrer_agency_id=command.caller.agency_id, participant_id=command.participant_id,
        consent_id=command.consent_id, reason=command.reason, urgency=command.urgency,
        needs=command.needs, allowed=decision.get("allowed") or {}, at=now)
    with uow:
        uow.referrals.add(referral)
        publish_events(uow, referral)
        uow.commit()
    return referral_view(referral, command.caller.agency_id)


def cancel_referral(command: CancelReferral, uow, now: datetime) -> dict[str, Any]:
    """The referrer withdraws its referral; the handoff closes with it.

    Raises ``NotFound``, ``Forbidden`` (not the referrer), ``Conflict`` (final or changed
    meanwhile) and ``InvalidRequest`` (no reason).
    """
    with uow:
        referral = visible_referral(uow, command.referral_id, command.caller.agency_id)
        referral.cancel(by=command.caller.agency_id, reason=command.reason, at=now)
        save(uow, referral)
        uow.commit()
    return referral_view(referral, command.caller.agency_id)


def report_status(command: ReportReferralStatus, uow, now: datetime) -> dict[str, Any]:
    """The assigned peer group reports progress (in-progress, on-hold, completed, failed).

    Raises ``NotFound``, ``Forbidden``, ``Conflict`` (lifecycle) and ``InvalidRequest`` (reason).
    """
    with uow:
        referral = visible_referral(uow, command.referral_id, command.caller.agency_id)
        referral.report_status(by=command.caller.agency_id, status=command.status, reason=command.reason,
                               at=now)
        save(uow, referral)
        uow.commit()
    return referral_view(referral, command.caller.agency_id)


def open_handoff(command: OpenHandoff, uow, consent: ConsentClient) -> dict[str, Any]:
    """The handoff packet, for the assigned peer group while its handoff is open.

    Consent is asked afresh (a revocation may not have reached us yet) and the read is ledgered
    with that permit, in its transaction, before the packet is returned: no read goes
    unrecorded and none is recorded after a revocation. Raises ``NotFound`` (strangers),
    ``Forbidden`` (the referrer), ``Conflict`` (closed) and ``ConsentRequired``.
    """
    with uow:
        referral = visible_referral(uow, command.referral_id, command.caller.agency_id)
        referral.ensure_handoff_for(command.caller.agency_id)
        packet = uow.referrals.handoff(referral.id)
    if packet is None or packet["agency_id"] != command.caller.agency_id:
        raise Conflict("No handoff has been disclosed for this referral.")
    decision = consent.authorize(**handoff_request(referral), asking=command.caller.agency_id,
                                 read=f"handoff:{referral.id}")
    if not decision.get("permit"):
        raise ConsentRequired("The consent no longer covers this handoff.", reason=decision.get("refusal"))
    return {"referral_id": referral.id, "participant": packet["participant"],
            "consent": packet["consent"], "redisclosure_notice": packet["redisclosure_notice"],
            "disclosed_at": packet["disclosed_at"].isoformat()}
