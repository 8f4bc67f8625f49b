"""One function per command, query and event of the matching service; no nameko in here.

Command and query handlers take the kit's unit of work not yet entered and open it themselves
(``with uow: ...; uow.commit()``); the reactions to other services' events run inside
``uow.handle`` (the kit's inbox), which commits them once per event. The unit of work carries
the repositories: ``uow.referrals``, ``uow.matches``, ``uow.mentors``.
"""

from services.matching.handlers.certifications import remind_certifications
from services.matching.handlers.expiry import expire_proposals
from services.matching.handlers.matches import accept_match, decline_match, list_matches
from services.matching.handlers.mentors import create_mentor, list_mentors, update_mentor
from services.matching.handlers.reactions import (
    on_consent_ended,
    on_referral_requested,
    on_referral_status_changed,
)
from services.matching.handlers.rebalance import rebalance

__all__ = [
    "accept_match", "create_mentor", "decline_match", "expire_proposals", "list_matches",
    "list_mentors", "on_consent_ended", "on_referral_requested", "on_referral_status_changed",
    "rebalance", "remind_certifications", "update_mentor",
]
