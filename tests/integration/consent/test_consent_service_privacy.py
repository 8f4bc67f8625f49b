"""What must never leak: a participant's details, the signer's name and the revocation reason
stay out of every published event, every log line, every error text and the raw database."""

from __future__ import annotations

import logging

import pytest

from services.kit.errors import ConsentRequired, InvalidRequest
from services.kit.logs import PersonalDataFilter
from tests.integration.consent.support import (
    CLINIC_2,
    HOLDERS_ADMIN,
    HOSPITAL,
    OPERATOR,
    ask,
    grant_request,
    unfiltered_lines,
)
from tests.integration.stored import raw_database_text
from tests.support import settle, wait_for

PARTICIPANT = {"given_name": "Zephyrine", "family_name": "Quillfeather", "birth_date": "1983-07-29",
               "phone": "+15555554417", "email": "zq-canary-4417@example.org",
               "preferred_language": "es"}
SIGNER = "Oberon Quillfeather"
REASON = "moved in with Bartholomew Ravensworth"
CANARIES = ("Zephyrine", "Quillfeather", "1983-07-29", "+15555554417", "5555554417",
            "zq-canary-4417", "Oberon", "Bartholomew", "Ravensworth")


@pytest.fixture
def service_lines():
    """The service's own log lines (``services.*``), as written, before the scrubbing filter."""
    with unfiltered_lines("services") as lines:
        yield lines


def test_no_personal_detail_or_reason_is_published_logged_or_stored_in_clear(
        consent, config, events, caplog, service_lines):
    caplog.set_level(logging.DEBUG)
    # Every record also passes the filter config.yml installs, as a deployed service's would.
    caplog.handler.addFilter(PersonalDataFilter())
    signature = {**grant_request()["signature"], "signed_by": "representative",
                 "signer_name": SIGNER, "authority": "health care proxy"}
    granted = consent.grant(HOSPITAL, grant_request(participant=PARTICIPANT, signature=signature))
    pid = granted["participant_id"]
    disclosed = consent.disclose(**ask(granted, data_classes=["contact", "demographics"]))
    assert disclosed["participant"] == PARTICIPANT  # the one place the details may go: the recipient
    with pytest.raises(ConsentRequired) as denied:
        consent.disclose(**ask(granted, purpose="treatment"))
    consent.record_access(actor="peer-1", participant_id=pid, what="handoff:ref-1")
    consent.revoke(HOSPITAL, granted["id"], {"reason": REASON, "recipients": {"agencies": ["clinic-2"]}})
    consent.authorize(**ask(granted, recipient=CLINIC_2))
    consent.revoke(HOSPITAL, granted["id"], {"reason": REASON})
    with pytest.raises(InvalidRequest) as refused:
        consent.grant(HOSPITAL, grant_request(participant={**PARTICIPANT, "phone": "Quillfeather-4417",
                                                           "email": "Zephyrine"}))
    reads = [consent.get(HOSPITAL, granted["id"]), consent.get(HOLDERS_ADMIN, granted["id"]),
             consent.disclosures(HOLDERS_ADMIN, pid), consent.ledger(OPERATOR, {"participant": pid}),
             consent.verify_ledger()]
    wait_for(lambda: events.of_type("consent.revoked", granted["id"])
             and len(events.of_type("consent.revoked", granted["id"])) == 2)
    settle(0.3)
    events.of_type("consent.granted")

    published = "\n".join(events.raw)
    own = "\n".join(service_lines)
    logged = own + "\n".join(f"{r.name} {r.getMessage()}" for r in caplog.records)
    errors = f"{denied.value!r} {refused.value!r} {refused.value.errors!r}"
    stored = raw_database_text(config["DATABASE_URL"])
    answers = repr(reads)
    assert len(events.raw) == 3 and granted["id"] in published
    assert f"consent {granted['id']} revoked" in own
    assert "v1.k1." in stored and granted["id"] in stored  # the sealed cells were read, as stored
    for canary in CANARIES:
        for where, text in (("events", published), ("logs", logged), ("errors", errors),
                            ("database", stored), ("reads", answers)):
            assert canary not in text, f"{canary!r} found in {where}"
