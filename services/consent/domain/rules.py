"""The single decision point: may this discloser give these data to this recipient now?

``authorize`` denies whenever it is in doubt and always says why, with a stable reason
code. It never looks at a clock of its own: the caller passes ``now``, so a consent past
its ``valid_until`` is refused even before the expiry timer has marked it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.consent.domain.elements import parse_instant
from services.consent.domain.model import ACTIVE, REVOKED, Consent
from services.kit.errors import InvalidRequest
from services.kit.vocabulary import AGENCY_KINDS, NETWORK_RECIPIENT

COVERED = "covered"
CONSENT_NOT_FOUND = "consent_not_found"
PARTICIPANT_MISMATCH = "participant_mismatch"
REVOKED_REASON = "revoked"
EXPIRED_REASON = "expired"
NOT_YET_VALID = "not_yet_valid"
DISCLOSER_NOT_COVERED = "discloser_not_covered"
RECIPIENT_NOT_COVERED = "recipient_not_covered"
REVOKED_FOR_RECIPIENT = "revoked_for_recipient"
PURPOSE_NOT_COVERED = "purpose_not_covered"
DATA_CLASS_NOT_COVERED = "data_class_not_covered"
ADMITTED_AFTER_CONSENT = "admitted_after_consent"
# The stored terms differ from those the ledger bound to the consent: someone changed them.
TERMS_ALTERED = "terms_altered"
DENY_REASONS = (
    CONSENT_NOT_FOUND, PARTICIPANT_MISMATCH, REVOKED_REASON, EXPIRED_REASON, NOT_YET_VALID,
    DISCLOSER_NOT_COVERED, RECIPIENT_NOT_COVERED, REVOKED_FOR_RECIPIENT, PURPOSE_NOT_COVERED,
    DATA_CLASS_NOT_COVERED, ADMITTED_AFTER_CONSENT, TERMS_ALTERED,
)
# What the agency holding the consent is told of a refusal (``refusal_shown``): the ledger
# keeps the precise reason; a tampered consent is, to its holder, no consent at all.
SHOWN_REASONS = {REVOKED_FOR_RECIPIENT: REVOKED_REASON, TERMS_ALTERED: CONSENT_NOT_FOUND,
                 ADMITTED_AFTER_CONSENT: RECIPIENT_NOT_COVERED}
REFUSAL_REASONS = tuple(r for r in DENY_REASONS if r not in SHOWN_REASONS)
PEER_GROUP = "peer_group"


@dataclass(frozen=True)
class Decision:
    """Permit or deny, the reason code, and the consent the decision rests on."""

    permit: bool
    reason: str
    consent_id: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"permit": self.permit, "reason": self.reason, "consent_id": self.consent_id}


def authorize(
    consent: Consent | None,
    discloser: str,
    recipient: Mapping[str, str],
    purpose: str,
    data_classes: Sequence[str],
    participant_id: str,
    now: datetime,
    admitted_at: datetime | None = None,
) -> Decision:
    """Decide one disclosure against one consent (``None`` when none was found).

    ``recipient`` is ``{"agency_id", "kind"}`` for an agency, or ``{"class": kind}`` for
    the network acting as intermediary toward some agency of that kind the consent covers.
    ``admitted_at`` is when the recipient agency joined the network (None: before admissions
    were recorded): a class covers an agency admitted after the signature only when the consent
    says ``include_later_members``.
    Raises ``InvalidRequest`` for a malformed recipient, empty ``data_classes`` or a naive
    ``now``; every other doubt is a deny with its reason.
    """
    now = _instant(now)
    _check_recipient(recipient)
    if isinstance(data_classes, str) or not data_classes:
        raise InvalidRequest("name the data classes to disclose",
                             errors={"data_classes": ["missing"]})
    if consent is None:
        return Decision(False, CONSENT_NOT_FOUND, None)

    def deny(reason: str) -> Decision:
        return Decision(False, reason, consent.id)

    if consent.participant_id != participant_id:
        return deny(PARTICIPANT_MISMATCH)
    if consent.status == REVOKED:
        return deny(REVOKED_REASON)
    if consent.status != ACTIVE:  # expired, or a status this code does not know
        return deny(EXPIRED_REASON)
    if consent.valid_until is not None and now >= consent.valid_until:
        return deny(EXPIRED_REASON)
    if now < consent.in_force_from:
        return deny(NOT_YET_VALID)
    # A named discloser is covered once it attested (the recording agency is at once).
    if discloser not in consent.attested or discloser not in consent.disclosers:
        return deny(DISCLOSER_NOT_COVERED)
    recipient_reason = _recipient_reason(consent, recipient, admitted_at)
    if recipient_reason != COVERED:
        return deny(recipient_reason)
    if purpose not in consent.purposes:
        return deny(PURPOSE_NOT_COVERED)
    if any(dc not in consent.data_classes for dc in data_classes):
        return deny(DATA_CLASS_NOT_COVERED)
    return Decision(True, COVERED, consent.id)


def refusal_shown(reason: str, *, asking: str | None, holder: str | None,
                  consent: Consent | None = None) -> str:
    """The refusal code for the agency ``asking``: the reason when it holds the consent (or is
    named in it as a discloser, and so reads it anyway and must learn it has to attest),
    ``consent_not_found`` for anyone else, so a refusal never reveals another agency's consent."""
    parties = {holder, *(consent.disclosers if consent is not None else ())}
    if asking is None or holder is None or asking not in parties:
        return CONSENT_NOT_FOUND
    return SHOWN_REASONS.get(reason, reason)


def _recipient_reason(consent: Consent, recipient: Mapping[str, str],
                      admitted_at: datetime | None) -> str:
    current, revoked = consent.recipients, consent.revoked
    if "class" in recipient:
        kind = recipient["class"]
        if current.names_kind(kind):
            return COVERED
        return REVOKED_FOR_RECIPIENT if revoked.names_kind(kind) else RECIPIENT_NOT_COVERED
    agency_id, kind = recipient["agency_id"], recipient["kind"]
    # Taking an agency off by name wins over a class that would otherwise still cover it:
    # the participant said "not them".
    if agency_id in revoked.agency_ids:
        return REVOKED_FOR_RECIPIENT
    named_kind = current.kind_of(agency_id)
    if named_kind is not None:
        # A named agency whose kind does not match what the caller says is a doubt: deny.
        return COVERED if named_kind == kind else RECIPIENT_NOT_COVERED
    if kind in current.classes:
        joined_later = admitted_at is not None and admitted_at > consent.signature.signed_at
        return ADMITTED_AFTER_CONSENT if joined_later and not consent.include_later_members else COVERED
    return REVOKED_FOR_RECIPIENT if kind in revoked.classes else RECIPIENT_NOT_COVERED


def _check_recipient(recipient: Any) -> None:
    if isinstance(recipient, Mapping):
        if set(recipient) == {"class"} and recipient["class"] in AGENCY_KINDS:
            return
        if (set(recipient) == {"agency_id", "kind"} and recipient["kind"] in AGENCY_KINDS
                and isinstance(recipient["agency_id"], str)
                and 0 < len(recipient["agency_id"]) <= 64 and "\x00" not in recipient["agency_id"]):
            return
    raise InvalidRequest(
        "recipient must be {agency_id, kind} or {class}",
        errors={"recipient": ["must be {agency_id, kind} with a known kind, or {class: kind}"]},
    )


def _instant(now: datetime) -> datetime:
    try:
        return parse_instant(now)
    except ValueError as exc:
        raise InvalidRequest("now must be an aware timestamp", errors={"now": [str(exc)]}) from None


def recipient_label(recipient: Mapping[str, str]) -> str:
    """How a recipient is named in the ledger and the accounting of disclosures."""
    if "class" in recipient:
        return f"{NETWORK_RECIPIENT}:{recipient['class']}"
    return recipient["agency_id"]


def allowed_peer_groups(consent: Consent | None) -> dict[str, list[str]]:
    """Peer groups an active consent still covers.

    ``{"agencies": [ids], "classes": [...], "excluded": [ids]}``: ``excluded`` names the
    agencies revoked by name, which stay off limits even where a ``peer_group`` class still
    covers them (as ``authorize`` denies them). Empty for a consent not active.
    """
    if consent is None or consent.status != ACTIVE:
        return {"agencies": [], "classes": [], "excluded": []}
    recipients = consent.recipients
    return {
        "agencies": [a.id for a in recipients.agencies if a.kind == PEER_GROUP],
        "classes": [c for c in recipients.classes if c == PEER_GROUP],
        "excluded": sorted(a.id for a in consent.revoked.agencies),
    }
