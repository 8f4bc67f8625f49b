"""The consent aggregate: a Part 2 written consent, its revocations and its expiry.

Every change bumps ``version`` and keeps a snapshot of the new state, so what a consent
said at any earlier version stays readable. Snapshots are JSON-ready and hold no personal
details (participant details and the signer's name are kept apart in ``personal()``,
which never changes and which the adapters encrypt).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from services.consent.domain.elements import (
    END_OF_TREATMENT,
    REVOCATION_STATEMENT,
    Recipients,
    Signature,
    format_instant,
    parse_instant,
)
from services.consent.domain.events import (
    ConsentAttested,
    ConsentEvent,
    ConsentExpired,
    ConsentGranted,
    ConsentRevoked,
)
from services.consent.domain.revocation import read_revoked_recipients
from services.consent.domain.validation import read_grant_request
from services.kit.errors import Conflict, Forbidden, NotFound

ACTIVE, REVOKED, EXPIRED = "active", "revoked", "expired"
STATUSES = (ACTIVE, REVOKED, EXPIRED)


class Consent:
    """A participant's consent to disclose, and everything that happened to it since."""

    def __init__(self, state: dict[str, Any], personal: Mapping[str, Any],
                 versions: list[dict[str, Any]] | None = None) -> None:
        # Use ``grant`` for a new consent or ``from_snapshot`` to load a stored one.
        self.id: str = state["id"]
        self.participant_id: str = state["participant_id"]
        self.participant: dict[str, str] = dict(personal["participant"])
        self.version: int = state["version"]
        self.status: str = state["status"]
        self.disclosers: tuple[str, ...] = tuple(state["disclosers"])
        # Disclosers that confirmed they disclose under this consent: the agency that recorded
        # it, and each other named discloser once it attested. Only these are covered.
        self.attested: tuple[str, ...] = tuple(state.get("attested", ()))
        # Agency names as registered when the consent was recorded, for the 2.32 summary.
        self.agency_names: dict[str, str] = dict(state.get("agency_names") or {})
        self.recipients = Recipients.from_dict(state["recipients"])
        self.revoked = Recipients.from_dict(state["revoked"])
        self.purposes: tuple[str, ...] = tuple(state["purposes"])
        self.data_classes: tuple[str, ...] = tuple(state["data_classes"])
        self.valid_from = parse_instant(state["valid_from"])
        self.valid_until = _instant_or_none(state["valid_until"])
        self.expires_on: str | None = state["expires_on"]
        self.signature = Signature.from_dict({**state["signature"], "signer_name": personal["signer_name"]})
        self.revocation_statement: str = state["revocation_statement"]
        self.granted_at = parse_instant(state["granted_at"])
        self.changed_at = parse_instant(state["changed_at"])
        self.revoked_at = _instant_or_none(state["revoked_at"])
        self.revocation_reason: str | None = state["revocation_reason"]
        self.expired_at = _instant_or_none(state["expired_at"])
        # Snapshots from before the term existed: a class covered only its members of the time.
        self.include_later_members: bool = bool(state.get("include_later_members", False))
        self._versions = versions if versions is not None else [self.snapshot()]
        self.events: list[ConsentEvent] = []

    # -- creating and loading -----------------------------------------------------------------

    @classmethod
    def grant(cls, request: Any, *, consent_id: str, participant_id: str, holder: str,
              now: datetime, end_of_treatment_lifetime: timedelta | None = None) -> Consent:
        """A new active consent at version 1, recorded by ``holder``; records ``ConsentGranted``.

        The holder must be one of the disclosers and is the only one covered at once; the
        others are covered once they ``attest``. A consent that lasts until the end of
        treatment ends after ``end_of_treatment_lifetime`` anyway (its ``valid_until``).
        Raises ``InvalidRequest`` naming every missing or invalid element at once.
        """
        now = parse_instant(now)  # a naive clock is a programming error: ValueError
        terms = read_grant_request(request, participant_id=participant_id, now=now, holder=holder)
        valid_until = terms.valid_until
        if terms.expires_on == END_OF_TREATMENT and end_of_treatment_lifetime is not None:
            valid_until = terms.valid_from + end_of_treatment_lifetime
        state = {
            "id": consent_id, "participant_id": terms.participant_id, "version": 1,
            "status": ACTIVE, "disclosers": terms.disclosers, "attested": (holder,),
            "agency_names": terms.agency_names,
            "recipients": terms.recipients.as_dict(), "revoked": Recipients().as_dict(),
            "purposes": terms.purposes, "data_classes": terms.data_classes,
            "valid_from": terms.valid_from, "valid_until": valid_until,
            "expires_on": terms.expires_on, "signature": terms.signature.as_dict(),
            "revocation_statement": REVOCATION_STATEMENT, "granted_at": now, "changed_at": now,
            "revoked_at": None, "revocation_reason": None, "expired_at": None,
            "include_later_members": terms.include_later_members,
        }
        personal = {"participant": terms.participant, "signer_name": terms.signature.signer_name}
        consent = cls(state, personal)
        consent.events.append(ConsentGranted(
            consent.id, consent.participant_id, consent.disclosers, consent.recipients.as_ids(),
            consent.purposes, consent.data_classes, consent.valid_from, consent.valid_until,
            consent.expires_on, now,
        ))
        return consent

    @classmethod
    def from_snapshot(cls, snapshot: dict[str, Any], personal: Mapping[str, Any],
                      versions: list[dict[str, Any]] | None = None) -> Consent:
        """Load a stored consent: its latest snapshot, ``personal()`` and earlier snapshots.

        ``versions`` (oldest first, including the latest) may be omitted when only the
        current state is needed. Raises ``KeyError``/``ValueError`` on a damaged snapshot.
        """
        return cls(copy.deepcopy(snapshot), personal, copy.deepcopy(versions) if versions else None)

    # -- reading ------------------------------------------------------------------------------

    @property
    def in_force_from(self) -> datetime:
        """Nothing is disclosed before the consent was both signed and effective."""
        return max(self.valid_from, self.signature.signed_at)

    def snapshot(self) -> dict[str, Any]:
        """The current state, JSON-ready, without personal details (one row per version)."""
        signature = self.signature.as_dict()
        del signature["signer_name"]
        return {
            "id": self.id, "participant_id": self.participant_id, "version": self.version,
            "status": self.status, "disclosers": list(self.disclosers),
            "attested": list(self.attested), "agency_names": dict(self.agency_names),
            "recipients": self.recipients.as_dict(), "revoked": self.revoked.as_dict(),
            "purposes": list(self.purposes), "data_classes": list(self.data_classes),
            "valid_from": format_instant(self.valid_from),
            "valid_until": format_instant(self.valid_until), "expires_on": self.expires_on,
            "signature": signature, "revocation_statement": self.revocation_statement,
            "granted_at": format_instant(self.granted_at),
            "changed_at": format_instant(self.changed_at),
            "revoked_at": format_instant(self.revoked_at),
            "revocation_reason": self.revocation_reason,
            "expired_at": format_instant(self.expired_at),
            "include_later_members": self.include_later_members,
        }

    def personal(self) -> dict[str, Any]:
        """The personal details of the consent, for the adapters to encrypt."""
        return {"participant": dict(self.participant), "signer_name": self.signature.signer_name}

    @property
    def versions(self) -> list[dict[str, Any]]:
        """Every snapshot from version 1 to the current one (copies)."""
        return copy.deepcopy(self._versions)

    def at_version(self, version: int) -> dict[str, Any]:
        """The snapshot of one earlier (or the current) version; ``NotFound`` if unknown."""
        for snap in self._versions:
            if snap["version"] == version:
                return copy.deepcopy(snap)
        raise NotFound(f"consent {self.id} has no version {version}")

    # -- changing -----------------------------------------------------------------------------

    def revoke(self, *, at: datetime, reason: str | None = None,
               recipients: Mapping[str, Any] | None = None) -> ConsentRevoked:
        """Revoke for some recipients (``{"agencies": [ids], "classes": [kinds]}``) or all.

        Revoking the last remaining recipient is a full revocation. Raises ``Conflict`` when
        the consent is no longer active (or has run past ``valid_until``) and
        ``InvalidRequest`` when ``recipients`` names someone the consent does not cover now.
        """
        at = parse_instant(at)
        self._require_active(at)
        if recipients is None:
            taken = self.recipients
        else:
            agency_ids, classes = read_revoked_recipients(recipients, self.recipients)
            taken = self.recipients.only(agency_ids, classes)
        remaining = self.recipients.without(taken.agency_ids, taken.classes)
        full = remaining.is_empty()
        self.recipients, self.revoked = remaining, self.revoked.plus(taken)
        if full:
            self.status, self.revoked_at = REVOKED, at
        self.revocation_reason = reason
        event = ConsentRevoked(self.id, self.participant_id, taken.as_ids(), remaining.as_ids(), full, at)
        self._changed(at, event)
        return event

    def attest(self, agency_id: str, *, at: datetime) -> bool:
        """A named discloser confirms it discloses under this consent; True if it changed.

        Raises ``Forbidden`` when the agency is not a named discloser and ``Conflict`` when the
        consent is no longer active.
        """
        at = parse_instant(at)
        if agency_id not in self.disclosers:
            raise Forbidden("Only an agency named as discloser may attest to this consent.")
        if agency_id in self.attested:
            return False
        self._require_active(at)
        self.attested = (*self.attested, agency_id)
        self._changed(at, ConsentAttested(self.id, self.participant_id, agency_id, at))
        return True

    def expire_if_due(self, now: datetime) -> bool:
        """Mark an active consent expired once ``valid_until`` has passed; True if it changed."""
        now = parse_instant(now)
        if self.status != ACTIVE or self.valid_until is None or now < self.valid_until:
            return False
        self._expire(self.valid_until, now)
        return True

    def expiring_event_occurred(self, event: str, at: datetime) -> bool:
        """The consent's expiring event (e.g. end of treatment) happened: expire it.

        Returns False when the consent is not active or ends on something else.
        """
        at = parse_instant(at)
        if self.status != ACTIVE or self.expires_on != event:
            return False
        self._expire(at, at)
        return True

    def _expire(self, expired_at: datetime, now: datetime) -> None:
        self.status, self.expired_at = EXPIRED, expired_at
        self._changed(now, ConsentExpired(self.id, self.participant_id, expired_at))

    def _require_active(self, at: datetime) -> None:
        if self.status != ACTIVE:
            raise Conflict(f"consent {self.id} is {self.status}")
        if self.valid_until is not None and at >= self.valid_until:
            raise Conflict(f"consent {self.id} has expired")

    def _changed(self, at: datetime, event: ConsentEvent) -> None:
        self.version += 1
        self.changed_at = at
        self._versions.append(self.snapshot())
        self.events.append(event)


def _instant_or_none(value: Any) -> datetime | None:
    return None if value is None else parse_instant(value)

