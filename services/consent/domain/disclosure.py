"""What travels with every disclosure: the redisclosure notice and a summary of the consent.

42 CFR 2.32 requires each disclosure made with written consent to carry the notice and
a copy of the consent or a clear explanation of its scope; ``consent_summary`` is that
explanation. It names no participant details (those travel, if at all, in the handoff).
"""

from __future__ import annotations

from typing import Any

from services.consent.domain.elements import format_instant
from services.consent.domain.model import Consent

# 42 CFR 2.32(a)(1), "Statement 1", as amended in 2024 (89 FR 12472).
REDISCLOSURE_NOTICE = (
    "This record which has been disclosed to you is protected by Federal confidentiality rules "
    "(42 CFR part 2). These rules prohibit you from using or disclosing this record, or testimony "
    "that describes the information contained in this record, in any civil, criminal, "
    "administrative, or legislative proceedings by any Federal, State, or local authority, "
    "against the patient, unless authorized by the consent of the patient, except as provided at "
    "42 CFR 2.12(c)(5) or as authorized by a court in accordance with 42 CFR 2.64 or 2.65. In "
    "addition, the Federal rules prohibit you from making any other use or disclosure of this "
    "record unless at least one of the following applies: (i) Further use or disclosure is "
    "expressly permitted by the written consent of the individual whose information is being "
    "disclosed in this record or as otherwise permitted by 42 CFR part 2. (ii) You are a covered "
    "entity or business associate and have received the record for treatment, payment, or health "
    "care operations, or (iii) You have received the record from a covered entity or business "
    "associate as permitted by 45 CFR part 164, subparts A and E. A general authorization for the "
    "release of medical or other information is NOT sufficient to meet the required elements of "
    "written consent to further use or redisclose the record (see 42 CFR 2.31)."
)


def consent_summary(consent: Consent) -> dict[str, Any]:
    """The scope of a consent as a recipient sees it in a handoff packet (JSON-ready).

    The scope a recipient must respect (2.32(a)(2)): who may disclose (the disclosers the
    consent covers, by id and registered name), to whom (agencies by name, or agency classes),
    for which purposes, which data classes, and for what period. Lists the recipients still in
    force; never the participant's or signer's details.
    """
    names = consent.agency_names
    return {
        "consent_id": consent.id,
        "version": consent.version,
        "status": consent.status,
        "disclosers": [{"id": agency_id, "name": names.get(agency_id)}
                       for agency_id in consent.disclosers if agency_id in consent.attested],
        "recipients": {
            "agencies": [{**agency.as_dict(), "name": names.get(agency.id)}
                         for agency in consent.recipients.agencies],
            "classes": list(consent.recipients.classes),
        },
        "purposes": list(consent.purposes),
        "data_classes": list(consent.data_classes),
        "period": {"start": format_instant(consent.valid_from),
                   "end": format_instant(consent.valid_until),
                   "ends_with": consent.expires_on},
        "valid_from": format_instant(consent.valid_from),
        "valid_until": format_instant(consent.valid_until),
        "expires_on": consent.expires_on,
        "signed_by": consent.signature.signed_by,
        "signed_at": format_instant(consent.signature.signed_at),
        "revocation_statement": consent.revocation_statement,
    }
