"""One function per command and query of the consent service; no nameko in here.

Each handler takes the kit's unit of work not yet entered and opens its own transaction,
so a deny can be committed to the ledger before ``ConsentRequired`` is raised.
"""

from services.consent.handlers.audit import checkpoint, disclosures, ledger, verify_ledger
from services.consent.handlers.consents import end_treatment, expire_due, get, grant, revoke
from services.consent.handlers.decisions import authorize, disclose, record_access

__all__ = [
    "authorize", "checkpoint", "disclose", "disclosures", "end_treatment", "expire_due", "get",
    "grant", "ledger", "record_access", "revoke", "verify_ledger",
]
