"""The referrals service's commands: each opens the unit of work, changes one referral, commits.

``uow`` is the kit's unit of work, not yet entered: handlers that ask consent something do so
before opening it (or after closing it), so no transaction nor SQLite's writer gate is held
during an RPC.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from services.consent.schemas import known_refusal
from services.kit.creations import CreatedMeanwhile, derived_event_id, earlier_object, record_creation
from services.kit.errors import Conflict, ConsentRequired
from services.referrals.adapters.repository import consent_lock
from services.referrals.domain import Referral, ReferralRefused
from services.referrals.domain.commands import (
    CancelReferral,
    OpenHandoff,
    ReportReferralStatus,
    RequestReferral,
)
from services.referrals.domain.criteria import first_language, substance_use_needs
from services.referrals.domain.views import referral_view
from services.referrals.handlers.changes import publish_events, save, visible_referral
from services.referrals.handlers.consent_events import end_by
from services.referrals.handlers.consent_terms import (
    HANDOFF_DATA_CLASSES,
    NETWORK_OPTIONAL_CLASSES,
    REFERRAL_DATA_CLASSES,
    REFERRAL_REASON,
    SUBSTANCE_USE,
    ConsentClient,
    acting_of,
    covered_of,
    handoff_request,
    referral_request,
)


def create_referral(command: RequestReferral, uow, consent: ConsentClient, now: datetime) -> dict[str, Any]:
    """Disclose to the network what the consent covers, then record the referral and stage
    ``referral.requested``.

    Consent is asked which classes it covers for the network (``referral-reason``, and
    ``substance-use``, without which the criteria that reveal substance use stay here); the
    referral is checked; then the disclosure is made, ledgered and accounted by consent before
    anything is stored or published. With an Idempotency-Key (``command.creation``) the referral
    is made once per key: a repeat, or an attempt that loses the race to a concurrent one, answers
    the referral the key made, as it is now, without asking consent again. A refusal stores no
    referral but stages ``referral.refused`` (``_record_refusal``). Raises ``ConsentRequired``
    (with the refusal consent lets the referrer see as ``reason``), ``InvalidRequest``,
    ``Conflict`` for a key used with another request, and ``DatabaseUnavailable`` when a refusal
    could not be recorded (the client retries, is refused again, and the refusal counts once).
    """
    earlier = _earlier_answer(command, uow)
    if earlier is not None:
        return earlier
    question = {**referral_request(command.caller.agency_id, command.participant_id, command.consent_id),
                **acting_of(command.caller)}
    classes, scope = covered_of(consent, question, REFERRAL_DATA_CLASSES, NETWORK_OPTIONAL_CLASSES)
    covered = REFERRAL_REASON in (scope.get("covered") or [])
    try:
        referral = Referral.request(
            referrer_agency_id=command.caller.agency_id, participant_id=command.participant_id,
            consent_id=command.consent_id, reason=command.reason, urgency=command.urgency,
            needs=command.needs, allowed=scope.get("allowed") or {}, at=now,
            substance_use=SUBSTANCE_USE in classes, external_id=command.external_id,
            external_id_system=command.external_id_system) if covered else None
    except ConsentRequired as refused:  # the consent covers the reason but no peer group
        _record_refusal(command, uow, refused.extra.get("reason"))
        raise
    try:
        # Asked even when not covered, so that consent ledgers the refusal with its reason.
        consent.disclose(**{**question, "data_classes": classes if covered else REFERRAL_DATA_CLASSES})
    except ConsentRequired as denied:
        reason = denied.extra.get("reason")
        _record_refusal(command, uow, reason)
        raise ConsentRequired("No consent in force covers this referral.", reason=reason) from None
    if referral is None:
        # Covered only since consent was asked: ask again rather than guess the peer groups.
        raise Conflict("The consent changed while the referral was made; try again.")
    try:
        with uow:
            # Consent may have ended since it permitted the disclosure, and its ending been
            # handled before this commits: then the referral is recorded ended. The consent's
            # lock (``hold_consent``) is taken before the endings are read, by the statement
            # that records the key where there is one.
            if command.creation is not None:
                record_creation(uow, command.creation, referral.id, now,
                                holding=consent_lock(referral.consent_id))
            else:
                uow.referrals.hold_consent(referral.consent_id)
            _check_external_id_free(command, uow)
            for event_type, payload in uow.referrals.endings_of(referral.consent_id):
                end_by(referral, event_type, payload, now)
            uow.referrals.add(referral)
            publish_events(uow, referral)
            uow.commit()
    except CreatedMeanwhile:
        return _referral_made_by_key(command, uow)
    except IntegrityError:
        # Another request gave the same identifier meanwhile (the unique index said so).
        raise _external_id_taken() from None
    return referral_view(referral, command.caller.agency_id)


def _record_refusal(command: RequestReferral, uow, reason: str | None) -> None:
    """Stage ``referral.refused`` for a request consent refused, in a transaction of its own.

    Ids and codes only (the outcomes service counts refusals by reason). A retry under the same
    Idempotency-Key is refused afresh, since a refusal records no creation, but its event gets the
    same id (``derived_event_id``): the outbox stages it once and every inbox keeps it once.
    ``DatabaseUnavailable`` propagates: the caller answers 503 rather than lose the refusal.
    """
    refused = ReferralRefused(
        referrer_agency_id=command.caller.agency_id, participant_id=command.participant_id,
        consent_id=command.consent_id, reason_code=known_refusal(reason), urgency=command.urgency,
        language=first_language(command.needs))
    with uow:
        uow.publish(refused.type, refused.payload(),
                    event_id=derived_event_id(command.creation, refused.type))
        uow.commit()


def _earlier_answer(command: RequestReferral, uow) -> dict[str, Any] | None:
    """Before consent is asked: the referral this request's Idempotency-Key made already, if any;
    raises ``Conflict`` when the referrer already gave ``external_id`` to a referral. One read,
    and none at all for a request with neither."""
    if command.creation is None and command.external_id is None:
        return None
    with uow.reading():
        earlier = _made_by_key(command, uow)
        if earlier is None:
            _check_external_id_free(command, uow)
        return earlier


def _check_external_id_free(command: RequestReferral, uow) -> None:
    """Inside ``with uow``: raises ``Conflict`` when the referrer already gave ``external_id`` to
    a referral."""
    if command.external_id is None:
        return
    taken = uow.referrals.with_external_id(command.caller.agency_id, command.external_id,
                                           command.external_id_system)
    if taken is not None:
        raise _external_id_taken()


def _external_id_taken() -> Conflict:
    return Conflict("This agency already gave that external_id to another referral.")


def _referral_made_by_key(command: RequestReferral, uow) -> dict[str, Any] | None:
    with uow:
        return _made_by_key(command, uow)


def _made_by_key(command: RequestReferral, uow) -> dict[str, Any] | None:
    referral_id = earlier_object(uow, command.creation)
    if referral_id is None:
        return None
    return referral_view(visible_referral(uow, referral_id, command.caller.agency_id),
                         command.caller.agency_id)


def cancel_referral(command: CancelReferral, uow, now: datetime) -> dict[str, Any]:
    """The referrer withdraws its referral; the handoff closes with it.

    Raises ``NotFound``, ``Forbidden`` (not the referrer), ``Conflict`` (final or changed
    meanwhile) and ``InvalidRequest`` (neither a reason code nor words, or an unknown code).
    """
    with uow:
        referral = visible_referral(uow, command.referral_id, command.caller.agency_id)
        referral.cancel(by=command.caller.agency_id, reason=command.reason,
                        reason_code=command.reason_code, at=now)
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
                               reason_code=command.reason_code, at=now)
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
    classes = packet["data_classes"] or HANDOFF_DATA_CLASSES
    decision = consent.authorize(**handoff_request(referral, data_classes=classes),
                                 asking=command.caller.agency_id, read=f"handoff:{referral.id}",
                                 **acting_of(command.caller))
    if not decision.get("permit"):
        raise ConsentRequired("The consent no longer covers this handoff.", reason=decision.get("refusal"))
    return {"referral_id": referral.id, "participant": packet["participant"],
            **handoff_extras(referral, classes), "data_classes": list(classes),
            "consent": packet["consent"], "redisclosure_notice": packet["redisclosure_notice"],
            "disclosed_at": packet["disclosed_at"].isoformat()}


def handoff_extras(referral: Referral, classes: list[str]) -> dict[str, Any]:
    """The reason and needs a handoff carries: with ``referral-reason`` only, and what in the
    needs reveals substance use with ``substance-use`` only."""
    if REFERRAL_REASON not in classes:
        return {}
    needs = referral.needs if SUBSTANCE_USE in classes else substance_use_needs(referral.needs)
    return {"reason": referral.reason, "needs": needs}
