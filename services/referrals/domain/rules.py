"""The referral lifecycle: which status may follow which, and who may move it.

Statuses follow the HL7 SDOH Clinical Care referral Task profile (docs/api.md, "Referrals").
"""

from __future__ import annotations

from services.kit.vocabulary import FINAL_REFERRAL_STATUSES, OTHER_REASON, REFERRAL_STATUSES

TRANSITIONS: dict[str, frozenset[str]] = {
    # "cancelled" from requested: the referrer may cancel any referral that is not final.
    "requested": frozenset({"accepted", "rejected", "cancelled"}),
    "accepted": frozenset({"in-progress", "on-hold", "cancelled"}),
    "in-progress": frozenset({"on-hold", "completed", "failed", "cancelled"}),
    "on-hold": frozenset({"in-progress", "cancelled", "failed"}),
    **{status: frozenset() for status in FINAL_REFERRAL_STATUSES},
}
assert set(TRANSITIONS) == set(REFERRAL_STATUSES)

# A referral that stops or pauses must say why, so the referrer can act on it.
REASON_REQUIRED = frozenset({"rejected", "cancelled", "on-hold", "failed"})

# What the assigned peer group reports. Cancelling stays with the referrer, accepting with the
# network.
PEER_GROUP_MOVES: dict[str, frozenset[str]] = {
    "accepted": frozenset({"in-progress", "on-hold"}),
    "in-progress": frozenset({"completed", "failed", "on-hold"}),
    "on-hold": frozenset({"in-progress", "failed"}),
}

# The handoff packet is open to the assigned peer group while the work is under way.
HANDOFF_STATUSES = frozenset({"accepted", "in-progress", "on-hold"})

# Reason codes published with referral.status_changed; a person's words stay in referrals.
# An agency picks one of vocabulary.STATUS_REASONS; words without a code read as OTHER.
OTHER = OTHER_REASON
CONSENT_REVOKED = "consent_revoked"
CONSENT_EXPIRED = "consent_expired"
CONSENT_ENDED_CODES = frozenset({CONSENT_REVOKED, CONSENT_EXPIRED})
MATCH_ACCEPTED = "match_accepted"

# The actor recorded in history for what the network does by itself.
NETWORK = "network"


def can_transition(current: str, target: str) -> bool:
    """Whether the lifecycle allows ``current`` → ``target`` at all, whoever asks."""
    return target in TRANSITIONS.get(current, frozenset())


def is_final(status: str) -> bool:
    """Whether nothing may follow ``status``."""
    return status in FINAL_REFERRAL_STATUSES
