"""The scope question: which data classes a consent covers for a recipient. No nameko here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.consent.domain import allowed_peer_groups
from services.consent.domain.commands import CoveredClasses
from services.consent.domain.coverage import covered_classes as covered


def covered_classes(command: CoveredClasses, uow, now: datetime) -> dict[str, Any]:
    """``{"consent_id", "covered", "allowed"}``: the classes of ``command.data_classes`` the named
    consent covers now, and the peer groups it covers (empty when it covers no class).

    Reads only: nothing is ledgered, because nothing is disclosed. An unknown consent covers
    nothing. Raises ``InvalidRequest`` for a malformed recipient.
    """
    with uow.reading():
        stored = uow.consents.get(command.consent_id, personal=False)  # terms only: one statement
    consent = stored.consent if stored else None
    found = covered(consent, command.discloser, command.recipient, command.purpose,
                    command.data_classes, command.participant_id, now)
    return {"consent_id": command.consent_id, "covered": found,
            "allowed": allowed_peer_groups(consent if found else None)}
