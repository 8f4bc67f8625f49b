"""Which data classes a consent covers for one recipient: the scope a service asks before it
decides what to disclose.

A question about scope, not a disclosure: it releases nothing, so it is not ledgered. What is
then disclosed goes through ``disclose``, which decides again and records it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from services.consent.domain.model import Consent
from services.consent.domain.rules import authorize


def covered_classes(consent: Consent | None, discloser: str, recipient: Mapping[str, str],
                    purpose: str, data_classes: Sequence[str], participant_id: str,
                    now: datetime) -> list[str]:
    """The classes of ``data_classes`` that ``authorize`` would permit one by one, in order.

    Empty when the consent permits none (unknown, ended, another participant, another discloser,
    recipient or purpose). Raises ``InvalidRequest`` as ``authorize`` does for a malformed question.
    """
    return [data_class for data_class in dict.fromkeys(data_classes)
            if authorize(consent, discloser, recipient, purpose, [data_class], participant_id, now).permit]
