"""The decision point: authorize, disclose, and record reads of personal details. No nameko.

Every decision, permit or deny, is written to the ledger in the transaction that answers it;
a disclosure adds its own ledger entry and a row in the accounting of disclosures, in that
same transaction, before anything leaves the service.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.consent.adapters.consents import StoredConsent
from services.consent.domain import (
    REDISCLOSURE_NOTICE,
    Consent,
    Decision,
    allowed_peer_groups,
    consent_summary,
    recipient_label,
)
from services.consent.domain import authorize as decide
from services.consent.domain.commands import AuthorizeDisclosure, Disclose, RecordAccess
from services.consent.domain.rules import TERMS_ALTERED, refusal_shown
from services.consent.domain.terms import terms_match
from services.consent.ledger_keys import LedgerKeyPair
from services.kit.errors import ConsentRequired

log = logging.getLogger(__name__)

# The participant details each data class releases. The consent service holds no others:
# referral reasons and clinical data stay with the services that collected them.
DISCLOSED_FIELDS = {
    "contact": ("phone", "email"),
    "demographics": ("given_name", "family_name", "birth_date", "preferred_language"),
}
NO_PEER_GROUPS: dict[str, list[str]] = {"agencies": [], "classes": [], "excluded": []}
Question = AuthorizeDisclosure | Disclose


@dataclass(frozen=True)
class Decided:
    decision: Decision
    decision_id: str
    consent: Consent | None
    holder: str | None = None

    def refusal(self, asking: str | None) -> str | None:
        """The refusal code ``asking`` may see (None for a permit)."""
        if self.decision.permit:
            return None
        return refusal_shown(self.decision.reason, asking=asking, holder=self.holder,
                             consent=self.consent)


def authorize(command: AuthorizeDisclosure, uow, keys: LedgerKeyPair, now: datetime) -> dict[str, Any]:
    """Permit or deny one disclosure, ledgered either way: ``{"permit", "reason", "refusal",
    "consent_id", "decision_id", "allowed"}``. ``refusal`` is the deny code the asking agency
    may be shown (``refusal_shown``).

    With ``command.read``, a permit also ledgers that the asking agency reads what it names, in
    the same transaction: a read is recorded under a decision no revocation has overtaken.
    An unknown consent is a deny (``consent_not_found``); only a malformed question raises
    (``InvalidRequest``).
    """
    with uow:
        decided = _decide(uow, keys, command, now, personal=False)
        allowed = _allowed(uow, decided.consent) if decided.decision.permit else NO_PEER_GROUPS
        if decided.decision.permit and command.read is not None:
            reader = command.asking or recipient_label(command.recipient)
            uow.ledger.append(keys, at=now, actor=reader, action="access", subject=command.read,
                              participant_id=command.participant_id,
                              details=_acted_by(command.acting, reader))
        uow.commit()
    decision = decided.decision
    return {
        "permit": decision.permit,
        "reason": decision.reason,
        "refusal": decided.refusal(command.asking),
        "consent_id": decision.consent_id,
        "decision_id": decided.decision_id,
        "allowed": allowed,
    }


def _allowed(uow, consent) -> dict[str, list[str]]:
    """The peer groups the consent covers; a class without ``include_later_members`` leaves out
    (``excluded``) those admitted after the signature, so matching never proposes them."""
    allowed = allowed_peer_groups(consent)
    if allowed["classes"] and not consent.include_later_members:
        later = uow.admissions.admitted_after(consent.signature.signed_at, "peer_group")
        allowed["excluded"] = sorted(set(allowed["excluded"]) | set(later))
    return allowed


def disclose(command: Disclose, uow, keys: LedgerKeyPair, now: datetime) -> dict[str, Any]:
    """The permitted participant details with the consent summary and the redisclosure notice.

    Raises ``ConsentRequired(reason)`` on deny, after the deny is committed to the ledger.
    """
    # Personal details are unsealed only when a class asked for releases some of them.
    releases = any(DISCLOSED_FIELDS.get(dc) for dc in command.data_classes)
    with uow:
        decided = _decide(uow, keys, command, now, personal=releases)
        if decided.decision.permit:
            participant = _permitted_fields(decided.consent, command.data_classes)
            _record_disclosure(uow, keys, command, decided, now)
        uow.commit()
    if not decided.decision.permit:
        # ``reason`` is what the asking agency may be shown; the ledger keeps the precise one.
        raise ConsentRequired("No consent in force covers this disclosure.",
                              reason=decided.refusal(command.asking), decision_id=decided.decision_id)
    consent = decided.consent
    return {
        "permit": True,
        "reason": decided.decision.reason,
        "decision_id": decided.decision_id,
        "consent_id": consent.id,
        "participant": participant,
        # ``id`` and ``revocation`` are what the HTTP API's consent summary calls these.
        "consent": {**consent_summary(consent), "id": consent.id,
                    "revocation": consent.revocation_statement},
        "redisclosure_notice": REDISCLOSURE_NOTICE,
    }


def record_access(command: RecordAccess, uow, keys: LedgerKeyPair, now: datetime) -> dict[str, int]:
    """Ledger a read of personal details (``what`` names it by kind and id); ``{"seq"}``."""
    with uow:
        entry = uow.ledger.append(keys, at=now, actor=command.actor, action="access",
                                  subject=command.what, participant_id=command.participant_id,
                                  details=_acted_by(command.acting, command.actor))
        uow.commit()
    return {"seq": entry.seq}


# -- deciding -----------------------------------------------------------------------------

def _decide(uow, keys: LedgerKeyPair, question: Question, now: datetime, *,
            personal: bool = True) -> Decided:
    """Decide under the consent's row lock: a revocation committed first is seen, one that
    comes later waits for this decision's commit, so no permit is ledgered after it. Without
    ``personal`` the consents are read with their terms only: one statement, nothing unsealed."""
    agency_id = question.recipient.get("agency_id")
    admitted_at = uow.admissions.admitted_at(agency_id) if agency_id else None
    args = (question.discloser, question.recipient, question.purpose, question.data_classes,
            question.participant_id, now, admitted_at)
    if question.consent_id is not None:
        found = uow.consents.get(question.consent_id, for_update=True, personal=personal,
                                 with_terms=True)
        candidates = [found] if found is not None else []
    else:
        candidates = uow.consents.for_participant(question.participant_id, for_update=True,
                                                  personal=personal)
    stored, decision = _best_of(uow, keys, candidates, args)
    consent = stored.consent if stored is not None else None
    decision_id = str(uuid.uuid4())
    uow.ledger.append(
        keys, at=now, actor=question.discloser, action="decision",
        subject=decision.consent_id or question.consent_id or "none",
        participant_id=question.participant_id,
        details={
            "decision_id": decision_id, "permit": decision.permit, "reason": decision.reason,
            "recipient": recipient_label(question.recipient), "purpose": question.purpose,
            "data_classes": list(question.data_classes),
            "consent_version": consent.version if consent is not None else None,
            **_asked_by(question),
        },
    )
    if not decision.permit:
        log.info("decision %s: deny (%s)", decision_id, decision.reason)
    return Decided(decision, decision_id, consent if decision.consent_id else None,
                   stored.holder if stored is not None and decision.consent_id else None)


def _asked_by(question: Question) -> dict[str, str]:
    """Who put the question, for its ledger rows: ``by`` the person or key who acted and, when
    that was not for the discloser (a peer group opening its handoff), ``asking`` their agency."""
    who = _acted_by(question.acting, question.discloser)
    if question.asking and question.asking != question.discloser:
        who["asking"] = question.asking
    return who


def _acted_by(acting: str | None, agency: str) -> dict[str, str]:
    """``{"by": acting}`` when someone within ``agency`` acted; nothing for the agency itself."""
    return {"by": acting} if acting and acting != agency else {}


def _best_of(uow, keys: LedgerKeyPair, candidates: list[StoredConsent],
             args) -> tuple[StoredConsent | None, Decision]:
    """The first of the candidate consents (newest first) that permits; failing that, the
    first one's deny."""
    first: tuple[StoredConsent | None, Decision] | None = None
    for stored in candidates:
        decision = _bound(uow, keys, stored, decide(stored.consent, *args))
        if decision.permit:
            return stored, decision
        first = first or (stored, decision)
    return first or (None, decide(None, *args))


def _bound(uow, keys: LedgerKeyPair, stored: StoredConsent, decision: Decision) -> Decision:
    """A permit stands only on terms the ledger bound to the consent; else a loud deny."""
    if not decision.permit:
        return decision
    consent = stored.consent
    if terms_match(consent, uow.consents.recorded_terms(stored, keys.hmac_key)):
        return decision
    # An alert for the operators: the consent tables were changed outside the service.
    log.error("ALERT consent %s: stored terms (version %d) do not match the terms bound in the "
              "audit ledger; disclosure denied", consent.id, consent.version)
    return Decision(False, TERMS_ALTERED, consent.id)


def _permitted_fields(consent: Consent, data_classes) -> dict[str, str]:
    names = {name for dc in data_classes for name in DISCLOSED_FIELDS.get(dc, ())}
    return {k: v for k, v in consent.participant.items() if k in names}


def _record_disclosure(uow, keys: LedgerKeyPair, question: Disclose, decided: Decided,
                       now: datetime) -> None:
    consent, recipient = decided.consent, question.recipient
    label = recipient_label(recipient)
    entry = uow.ledger.append(
        keys, at=now, actor=question.discloser, action="disclosure",
        subject=consent.id, participant_id=consent.participant_id,
        details={"decision_id": decided.decision_id, "recipient": label,
                 "purpose": question.purpose, "data_classes": list(question.data_classes),
                 "consent_version": consent.version, **_asked_by(question)},
    )
    uow.disclosures.record(
        at=now, participant_id=consent.participant_id, recipient=label,
        recipient_kind=recipient.get("kind") or recipient.get("class"),
        discloser=question.discloser, purpose=question.purpose,
        data_classes=question.data_classes, consent_id=consent.id,
        consent_version=consent.version, ledger_seq=entry.seq,
    )
