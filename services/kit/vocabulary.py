"""Closed vocabularies shared by the services and the gateway (docs/architecture.md, docs/api.md)."""

AGENCY_KINDS = ("hospital", "clinic", "sober_living", "peer_group")
ROLES = ("referrer", "coordinator", "admin")
PURPOSES = ("peer-support-referral", "care-coordination", "treatment")
DATA_CLASSES = ("demographics", "contact", "referral-reason", "substance-use", "mental-health")
PATHWAYS = ("12-step", "secular", "faith-based", "medication-assisted")
URGENCIES = ("routine", "urgent")
CHANNELS = ("webhook", "email", "sms")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PARTS_OF_DAY = ("morning", "afternoon", "evening", "night")
SLOTS = tuple(f"{d}-{p}" for d in DAYS for p in PARTS_OF_DAY)

REFERRAL_STATUSES = (
    "requested", "accepted", "rejected", "in-progress", "on-hold", "completed", "failed", "cancelled",
)
FINAL_REFERRAL_STATUSES = ("rejected", "completed", "failed", "cancelled")
MATCH_STATUSES = ("proposed", "accepted", "declined", "expired", "withdrawn")

# The network itself acts as intermediary between referrers and peer groups.
NETWORK_RECIPIENT = "network"
GENDERS = ("female", "male", "non-binary")
LANGUAGE_TAG = r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$"  # BCP 47 shaped: "es", "en-US"
# Part 2 §2.31 signature elements: who signed, how, and (for a representative) by what authority.
SIGNERS = ("participant", "representative")
SIGNATURE_METHODS = ("electronic", "wet-ink")
