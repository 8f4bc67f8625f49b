"""The referrals service as engagement sees it: the handoff, read for the assigned peer group.

Reading the handoff is the consent-checked path every peer group's read takes: referrals asks
consent afresh and ledgers the read as a disclosure to that agency before answering.
"""

from __future__ import annotations

from typing import Any

from services.kit.errors import Conflict, ConsentRequired, NotFound


class ReferralsClient:
    def __init__(self, proxy: Any) -> None:
        self._proxy = proxy

    def contact_details(self, agency_id: str, referral_id: str) -> dict[str, Any] | None:
        """The participant's contact details disclosed to ``agency_id`` for the referral, or None
        when consent no longer permits it or the handoff is closed."""
        caller = {"agency_id": agency_id, "kind": "peer_group", "roles": ["coordinator"]}
        try:
            packet = self._proxy.handoff(caller, referral_id)
        except (ConsentRequired, Conflict, NotFound):
            return None
        participant = packet.get("participant") or {}
        return {"phone": participant.get("phone"), "email": participant.get("email"),
                "language": participant.get("preferred_language"),
                "consent_id": (packet.get("consent") or {}).get("id")}
