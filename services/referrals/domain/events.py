"""Facts the referral aggregate records; each maps field for field onto its contract payload.

``type`` names the catalog entry in ``services.kit.contract``; ``payload()`` is what the outbox
publishes with ``new_event(event.type, event.payload(), source="referrals")``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar


@dataclass(frozen=True)
class ReferralRequested:
    """A referral entered the network. Criteria only: no names, contact or reason text."""

    type: ClassVar[str] = "referral.requested"

    referral_id: str
    referrer_agency_id: str
    participant_id: str
    consent_id: str
    urgency: str
    # Peer groups the consent covers: {"agencies": [...], "classes": [...]}.
    allowed: dict[str, list[str]] = field(default_factory=dict)
    criteria: dict[str, Any] = field(default_factory=dict)

    def payload(self) -> dict[str, Any]:
        """The ``ReferralRequestedV2`` payload."""
        return asdict(self)


@dataclass(frozen=True)
class ReferralStatusChanged:
    """A referral moved from one status to another; ``reason_code`` is a machine code."""

    type: ClassVar[str] = "referral.status_changed"

    referral_id: str
    referrer_agency_id: str
    assigned_agency_id: str | None
    participant_id: str
    urgency: str
    from_status: str
    to_status: str
    # "stated" when a person wrote a reason (kept in referrals), a system code, or None.
    reason_code: str | None = None

    def payload(self) -> dict[str, Any]:
        """The ``ReferralStatusChangedV1`` payload."""
        return asdict(self)


@dataclass(frozen=True)
class ReferralRefused:
    """Consent refused a referral as it was made, for ``reason_code``: no referral exists.

    Not recorded by a ``Referral`` (there is none): ``refusal_of`` builds it from the request.
    """

    type: ClassVar[str] = "referral.refused"

    referrer_agency_id: str
    participant_id: str
    consent_id: str
    reason_code: str
    urgency: str
    language: str | None = None

    def payload(self) -> dict[str, Any]:
        """The ``ReferralRefusedV1`` payload."""
        return asdict(self)


ReferralEvent = ReferralRequested | ReferralStatusChanged
