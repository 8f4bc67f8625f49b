"""The referral aggregate: one participant's way from a treatment provider to a peer group.

Every change goes through a method that checks who asks and whether the lifecycle allows it,
appends to ``history`` and records an event in ``events`` for the unit of work to publish.
Agencies that neither referred nor were assigned get ``NotFound``, exactly as for an unknown id.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from services.kit.errors import Conflict, ConsentRequired, Forbidden, InvalidRequest, NotFound
from services.kit.vocabulary import REFERRAL_STATUSES, STATUS_REASONS, URGENCIES
from services.referrals.domain import rules
from services.referrals.domain.criteria import criteria_from_needs
from services.referrals.domain.events import (
    ReferralEvent,
    ReferralRequested,
    ReferralStatusChanged,
)
from services.referrals.domain.history import HistoryEntry
from services.referrals.domain.match import MatchInfo


def _invalid(field_name: str, message: str) -> InvalidRequest:
    return InvalidRequest(f"Invalid {field_name}.", errors={field_name: [message]})


@dataclass(eq=False)
class Referral:
    id: str
    referrer_agency_id: str
    participant_id: str
    consent_id: str
    reason: str  # the clinician's words: stay inside referrals, encrypted at rest
    urgency: str
    needs: dict[str, Any]
    status: str = "requested"
    history: list[HistoryEntry] = field(default_factory=list)
    assigned_agency_id: str | None = None
    match: MatchInfo | None = None
    waitlisted: bool = False  # matching found no fitting mentor yet
    match_updated_at: datetime | None = None  # when the last followed match event happened
    handoff_open: bool = False
    # The referrer's own identifier (its order or case number) and its namespace.
    external_id: str | None = None
    external_id_system: str | None = None
    events: list[ReferralEvent] = field(default_factory=list, repr=False)

    @classmethod
    def request(cls, *, referrer_agency_id: str, participant_id: str, consent_id: str,
                reason: str, urgency: str, needs: Mapping[str, Any],
                allowed: Mapping[str, list[str]], at: datetime,
                referral_id: str | None = None, substance_use: bool = True,
                external_id: str | None = None, external_id_system: str | None = None) -> Referral:
        """A new referral in status ``requested``, recording ``ReferralRequested``.

        ``allowed`` is the set of peer groups the consent covers ({"agencies", "classes"});
        without ``substance_use`` (not covered for the network) the criteria that reveal
        substance use stay out of the event.
        Raises ``InvalidRequest`` naming "reason", "urgency" or "needs.languages", and
        ``ConsentRequired`` when the consent covers no peer group at all.
        """
        if not (reason or "").strip():
            raise _invalid("reason", "A referral needs a reason.")
        if urgency not in URGENCIES:
            raise _invalid("urgency", f"Must be one of: {', '.join(URGENCIES)}.")
        criteria = criteria_from_needs(needs, substance_use=substance_use)
        if not criteria["languages"]:
            raise _invalid("needs.languages", "Name at least one language.")
        allowed = {"agencies": list(allowed.get("agencies") or []),
                   "classes": list(allowed.get("classes") or []),
                   "excluded": list(allowed.get("excluded") or [])}
        if not allowed["agencies"] and "peer_group" not in allowed["classes"]:
            raise ConsentRequired("The consent does not cover any peer group.",
                                  reason="recipient_not_covered")
        referral = cls(id=referral_id or str(uuid.uuid4()),
                       referrer_agency_id=referrer_agency_id, participant_id=participant_id,
                       consent_id=consent_id, reason=reason.strip(), urgency=urgency,
                       needs=dict(needs), external_id=external_id,
                       external_id_system=external_id_system if external_id else None)
        referral.history.append(HistoryEntry("requested", _aware(at), referrer_agency_id))
        referral.events.append(ReferralRequested(
            referral_id=referral.id, referrer_agency_id=referrer_agency_id,
            participant_id=participant_id, consent_id=consent_id, urgency=urgency,
            allowed=allowed, criteria=criteria))
        return referral

    # -- who sees what ------------------------------------------------------------------------

    def visible_to(self, agency_id: str) -> bool:
        """Only the referrer and the assigned peer group may know this referral exists."""
        return bool(agency_id) and agency_id in (self.referrer_agency_id, self.assigned_agency_id)

    def ensure_visible_to(self, agency_id: str) -> None:
        """Raises ``NotFound`` (the answer for an unknown id) unless ``agency_id`` may see it."""
        if not self.visible_to(agency_id):
            raise NotFound("No such referral.")

    def ensure_handoff_for(self, agency_id: str) -> None:
        """Check that ``agency_id`` may receive the handoff packet now.

        Raises ``NotFound`` for strangers, ``Forbidden`` for the referrer and ``Conflict`` while
        the handoff is closed (before acceptance, after the end, or once consent ended). The
        consent itself is checked by a fresh ``authorize`` in the handler.
        """
        self.ensure_visible_to(agency_id)
        if agency_id != self.assigned_agency_id:
            raise Forbidden("Only the assigned peer group receives the handoff.")
        if not self.handoff_open:
            raise Conflict(f"No handoff for a {self.status} referral.")

    # -- transitions --------------------------------------------------------------------------

    def cancel(self, *, by: str, reason: str | None, at: datetime, reason_code: str | None = None) -> None:
        """The referrer withdraws the referral, for ``reason_code`` (``STATUS_REASONS``) and/or
        in its own words (``reason``, which alone reads as ``other``).

        Raises ``NotFound`` for strangers, ``Forbidden`` for the peer group, ``Conflict`` once
        final, ``InvalidRequest`` without any reason or with an unknown code.
        """
        self.ensure_visible_to(by)
        self._check_allowed("cancelled")
        if by != self.referrer_agency_id:
            raise Forbidden("Only the referring agency cancels a referral.")
        self._move("cancelled", by=by, reason=reason, code=stated_code(reason_code, reason), at=at)

    def report_status(self, *, by: str, status: str, reason: str | None, at: datetime,
                      reason_code: str | None = None) -> None:
        """The assigned peer group reports progress (in-progress, on-hold, completed, failed).

        ``reason_code`` and ``reason`` as for ``cancel``. Raises ``NotFound`` for strangers,
        ``Conflict`` when the lifecycle forbids the move, ``Forbidden`` when it is not the peer
        group's to make, ``InvalidRequest`` without a reason where one is required or with an
        unknown code.
        """
        self.ensure_visible_to(by)
        if status not in REFERRAL_STATUSES:
            raise _invalid("status", f"Must be one of: {', '.join(REFERRAL_STATUSES)}.")
        self._check_allowed(status)
        moves = rules.PEER_GROUP_MOVES.get(self.status, frozenset())
        if by != self.assigned_agency_id or status not in moves:
            raise Forbidden(f"This agency may not move the referral to {status}.")
        self._move(status, by=by, reason=reason, code=stated_code(reason_code, reason), at=at)

    def accept_match(self, match: MatchInfo, *, permitted: bool, at: datetime) -> None:
        """The network assigns the referral to an accepted match's peer group.

        ``permitted`` is the answer of a fresh ``authorize`` for that agency. A redelivered
        acceptance of the same match changes nothing. Raises ``ConsentRequired`` without a
        permit and ``Conflict`` when the referral is no longer waiting.
        """
        if self.status == "accepted" and self.match and self.match.match_id == match.match_id:
            return
        self._check_allowed("accepted")
        if not permitted:
            raise ConsentRequired("The consent does not cover the mentor's agency.")
        at = _aware(at)
        self.assigned_agency_id, self.handoff_open = match.mentor_agency_id, True
        self.match, self.waitlisted = replace(match, status="accepted"), False
        self._move("accepted", by=rules.NETWORK, code=rules.MATCH_ACCEPTED, at=at)

    def follow_match(self, match: MatchInfo | None, *, at: datetime) -> bool:
        """Keep the matching view current while the referral waits; ``None`` means waitlisted.

        Matching's events may arrive out of order (retries, parallel consumers), so one older
        than the last followed and news of a proposal that is no longer the current one change
        nothing; once the referral has left ``requested`` only its own match's fate is kept.
        Returns whether the view changed. Publishes nothing: matching already told everyone.
        """
        at = _aware(at)
        if self.match_updated_at and at < self.match_updated_at:
            return False
        if self.status != "requested":
            # Decided referrals still show their own match's fate (withdrawn after a cancel),
            # never a new proposal.
            if match is None or self.match is None or match.match_id != self.match.match_id \
                    or match.status == "proposed":
                return False
            self.match, self.match_updated_at = match, at
            return True
        if match is None:
            self.waitlisted = True
        elif match.status == "proposed":
            self.match, self.waitlisted = match, False
        elif self.match is not None and self.match.match_id == match.match_id:
            self.match = match
        else:
            return False
        self.match_updated_at = at
        return True

    def reject(self, *, reason_code: str, at: datetime) -> None:
        """The network declines a requested referral for ``reason_code``. Raises ``Conflict``."""
        self._check_allowed("rejected")
        self._move("rejected", by=rules.NETWORK, code=reason_code, at=at)

    def end_by_consent(self, *, reason_code: str, at: datetime) -> bool:
        """Cancel because consent was revoked or expired; False if already final.

        Closes the handoff at once. Raises ``ValueError`` for a code other than
        ``consent_revoked`` / ``consent_expired``.
        """
        if reason_code not in rules.CONSENT_ENDED_CODES:
            raise ValueError(f"not a consent ending: {reason_code!r}")
        if rules.is_final(self.status):
            return False
        self._move("cancelled", by=rules.NETWORK, code=reason_code, at=at)
        return True

    def still_covered_by(self, remaining: Mapping[str, list[str]]) -> bool:
        """Whether what is left of a partly revoked consent still covers this referral.

        Assigned: the assigned agency, by id or by the class ``peer_group``. Not yet assigned:
        any recipient agency left, or the class (matching withdraws proposals it no longer covers).
        """
        agencies, classes = remaining.get("agencies") or [], remaining.get("classes") or []
        if "peer_group" in classes:
            return True
        if self.assigned_agency_id:
            return self.assigned_agency_id in agencies
        return bool(agencies)

    def _check_allowed(self, target: str) -> None:
        if not rules.can_transition(self.status, target):
            raise Conflict(f"A {self.status} referral cannot become {target}.")

    def _move(self, target: str, *, by: str, at: datetime, reason: str | None = None,
              code: str | None = None) -> None:
        at, reason, code = _aware(at), (reason or "").strip() or None, code or None
        if target in rules.REASON_REQUIRED and reason is None and code is None:
            raise _invalid("reason", f"Say why the referral becomes {target}.")
        previous, self.status = self.status, target
        if rules.is_final(target):
            self.handoff_open = False
        # The code is for every party; the words stay with the agency that wrote them.
        self.history.append(HistoryEntry(target, at, by, reason, code))
        self.events.append(ReferralStatusChanged(
            referral_id=self.id, referrer_agency_id=self.referrer_agency_id,
            assigned_agency_id=self.assigned_agency_id, participant_id=self.participant_id,
            urgency=self.urgency, from_status=previous, to_status=target, reason_code=code))


def stated_code(reason_code: str | None, reason: str | None) -> str | None:
    """The reason code of an agency's move: the code it chose, ``other`` for words alone, or None.

    Raises ``InvalidRequest`` naming "reason_code" for a code outside ``STATUS_REASONS``.
    """
    if reason_code is None:
        return rules.OTHER if (reason or "").strip() else None
    if reason_code not in STATUS_REASONS:
        raise _invalid("reason_code", f"Must be one of: {', '.join(STATUS_REASONS)}.")
    return reason_code


def _aware(at: datetime) -> datetime:
    # History is published and compared across services: naive times would be ambiguous.
    if at.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return at
