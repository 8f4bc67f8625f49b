"""One function per command and query of the consent service; no nameko in here.

Each handler takes a command from ``domain/commands.py`` and the kit's unit of work not yet
entered, and opens its own transaction, so a deny can be committed to the ledger before
``ConsentRequired`` is raised. The unit of work carries ``consents``, ``ledger``,
``disclosures``, ``admissions`` and ``verifications``.
"""

from services.consent.handlers.audit import (
    checkpoint,
    disclosures,
    export_ledger,
    ledger,
    public_key,
    record_change,
    verify_ledger,
)
from services.consent.handlers.consents import attest, end_treatment, get, grant, revoke
from services.consent.handlers.coverage import covered_classes
from services.consent.handlers.decisions import authorize, disclose, record_access
from services.consent.handlers.expiry import expire_due
from services.consent.handlers.verification import (
    read_verification,
    run_verification,
    start_verification,
)

__all__ = [
    "attest", "authorize", "checkpoint", "covered_classes", "disclose", "disclosures",
    "end_treatment", "expire_due", "export_ledger", "get", "grant", "ledger", "public_key",
    "read_verification", "record_access", "record_change", "revoke", "run_verification",
    "start_verification", "verify_ledger",
]
