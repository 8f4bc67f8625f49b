"""The consent service's domain: pure Python, no nameko, no database, no I/O."""

from services.consent.domain.disclosure import REDISCLOSURE_NOTICE, consent_summary
from services.consent.domain.elements import (
    END_OF_TREATMENT,
    EXPIRING_EVENTS,
    REVOCATION_STATEMENT,
    SIGNATURE_METHODS,
    SIGNERS,
    AgencyRecipient,
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
from services.consent.domain.ledger import (
    GENESIS_HASH,
    Checkpoint,
    LedgerEntry,
    chain_hash,
    ledger_time,
    next_entry,
    sign_checkpoint,
)
from services.consent.domain.ledger_verify import ChainVerifier, VerifyResult, verify
from services.consent.domain.model import ACTIVE, EXPIRED, REVOKED, STATUSES, Consent
from services.consent.domain.rules import (
    COVERED,
    DENY_REASONS,
    Decision,
    allowed_peer_groups,
    authorize,
    recipient_label,
)

__all__ = [
    "ACTIVE", "COVERED", "DENY_REASONS", "END_OF_TREATMENT", "EXPIRED", "EXPIRING_EVENTS",
    "GENESIS_HASH", "REDISCLOSURE_NOTICE", "REVOCATION_STATEMENT", "REVOKED",
    "SIGNATURE_METHODS", "SIGNERS", "STATUSES", "AgencyRecipient", "ChainVerifier", "ConsentAttested",
    "Checkpoint", "Consent", "ConsentEvent", "ConsentExpired", "ConsentGranted",
    "ConsentRevoked", "Decision", "LedgerEntry", "Recipients", "Signature", "VerifyResult",
    "allowed_peer_groups", "authorize", "chain_hash", "consent_summary", "format_instant",
    "ledger_time", "next_entry", "parse_instant", "recipient_label", "sign_checkpoint", "verify",
]
