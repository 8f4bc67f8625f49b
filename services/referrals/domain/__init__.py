"""The referral aggregate, its lifecycle rules and the events it records: plain Python, no I/O."""

from services.referrals.domain.criteria import criteria_from_needs
from services.referrals.domain.events import ReferralRefused, ReferralRequested, ReferralStatusChanged
from services.referrals.domain.history import HistoryEntry
from services.referrals.domain.match import MatchInfo
from services.referrals.domain.model import Referral

__all__ = [
    "HistoryEntry",
    "MatchInfo",
    "Referral",
    "ReferralRefused",
    "ReferralRequested",
    "ReferralStatusChanged",
    "criteria_from_needs",
]
