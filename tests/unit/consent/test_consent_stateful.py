"""Stateful property: over any history of grants, revocations, expiries and clock steps,
``authorize`` permits exactly when a consent in force at that moment covers the discloser,
the recipient, the purpose and every data class. The reference below is written from the
rules in plain words, independently of the domain code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, Phase, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from services.consent.domain import Consent, authorize
from services.kit.errors import Conflict
from services.kit.vocabulary import AGENCY_KINDS, DATA_CLASSES, PURPOSES

# Recipient agencies; a small pool, so that names and classes overlap often.
AGENCIES = {"peer-1": "peer_group", "peer-2": "peer_group", "clinic-2": "clinic",
            "sober-1": "sober_living"}
DISCLOSERS = ["hospital-1", "clinic-1", "clinic-9"]
PARTICIPANTS = ["participant-1", "participant-2"]
START = datetime(2026, 11, 1, tzinfo=UTC)
PERSON = {"given_name": "Ana", "family_name": "Ruiz", "birth_date": "1990-04-02",
          "preferred_language": "es"}


@dataclass
class Reference:
    """What one consent should allow, kept as plain sets."""

    participant: str
    disclosers: set[str]
    agencies: set[str]
    classes: set[str]
    purposes: set[str]
    data_classes: set[str]
    starts: datetime
    ends: datetime | None
    ends_with_treatment: bool
    status: str = "active"
    changes: int = 0
    taken_agencies: set[str] = field(default_factory=set)
    taken_classes: set[str] = field(default_factory=set)

    def lapsed(self, now: datetime) -> bool:
        return self.ends is not None and now >= self.ends

    def revocable(self, now: datetime) -> bool:
        return self.status == "active" and not self.lapsed(now)

    def take(self, agencies: set[str], classes: set[str]) -> None:
        """Revocation: these recipients go; with nobody left, the whole consent goes."""
        self.agencies, self.taken_agencies = self.agencies - agencies, self.taken_agencies | agencies
        self.classes, self.taken_classes = self.classes - classes, self.taken_classes | classes
        self.status = "active" if self.agencies or self.classes else "revoked"
        self.changes += 1

    def expire(self) -> None:
        self.status, self.changes = "expired", self.changes + 1

    def problems(self, discloser, recipient, purpose, data_classes, participant, now) -> set[str]:
        found = set()
        if participant != self.participant:
            found.add("participant_mismatch")
        if self.status == "revoked":
            found.add("revoked")
        if self.status == "expired" or self.lapsed(now):
            found.add("expired")
        if now < self.starts:
            found.add("not_yet_valid")
        if discloser not in self.disclosers:
            found.add("discloser_not_covered")
        recipient_problem = self.recipient_problem(recipient)
        if recipient_problem:
            found.add(recipient_problem)
        if purpose not in self.purposes:
            found.add("purpose_not_covered")
        if not set(data_classes) <= self.data_classes:
            found.add("data_class_not_covered")
        return found

    def recipient_problem(self, recipient: dict) -> str | None:
        if "class" in recipient:
            kind = recipient["class"]
            if kind in self.classes or any(AGENCIES[a] == kind for a in self.agencies):
                return None
            taken = self.taken_classes | {AGENCIES[a] for a in self.taken_agencies}
        else:
            agency, kind = recipient["agency_id"], recipient["kind"]
            if agency in self.taken_agencies:
                return "revoked_for_recipient"
            if agency in self.agencies or kind in self.classes:
                return None
            taken = self.taken_classes
        return "revoked_for_recipient" if kind in taken else "recipient_not_covered"


def some_of(values, min_size: int = 1, max_size: int | None = None):
    return st.lists(st.sampled_from(sorted(values)), min_size=min_size, max_size=max_size,
                    unique=True)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


class ConsentHistory(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = START
        self.consents: dict[str, Consent] = {}
        self.expected: dict[str, Reference] = {}

    @staticmethod
    def recipients_named(expected: Reference) -> list[dict]:
        """Recipients on the consent now or before: by name, by class, or covered by class."""
        classes = expected.classes | expected.taken_classes
        agencies = {a for a in AGENCIES if AGENCIES[a] in classes}
        agencies |= expected.agencies | expected.taken_agencies
        return ([{"agency_id": a, "kind": AGENCIES[a]} for a in agencies]
                + [{"class": c} for c in classes])

    @staticmethod
    def recipients_anywhere() -> list[dict]:
        return ([{"agency_id": a, "kind": k} for a, k in AGENCIES.items()]
                + [{"class": k} for k in AGENCY_KINDS])

    def pick(self, data) -> str:
        return data.draw(st.sampled_from(sorted(self.consents)), label="consent")

    @initialize(data=st.data())
    def first_consents_are_granted(self, data):
        for _ in range(data.draw(st.integers(1, 3), label="first consents")):
            self.grant(data)

    @rule(data=st.data())
    def another_consent_is_granted(self, data):
        self.grant(data)

    def grant(self, data) -> None:
        agencies = data.draw(some_of(AGENCIES, 0, 3), label="agencies")
        classes = data.draw(some_of(AGENCY_KINDS, 0 if agencies else 1, 2), label="classes")
        valid_from = self.now + timedelta(minutes=data.draw(st.integers(-600, 600)))
        signed_at = self.now - timedelta(minutes=data.draw(st.integers(0, 120)))
        length = data.draw(st.none() | st.integers(1, 3 * 24 * 60), label="minutes in force")
        ends = None if length is None else max(valid_from, self.now) + timedelta(minutes=length)
        body = {
            "participant": PERSON,
            "disclosers": data.draw(some_of(DISCLOSERS[:2]), label="disclosers"),
            "recipients": {"agencies": [{"id": a, "kind": AGENCIES[a]} for a in agencies],
                           "classes": classes},
            "purposes": data.draw(some_of(PURPOSES), label="purposes"),
            "data_classes": data.draw(some_of(DATA_CLASSES), label="data classes"),
            "valid_from": iso(valid_from),
            "signature": {"signed_by": "participant", "signer_name": "Ana Ruiz",
                          "signed_at": iso(signed_at), "method": "electronic"},
        }
        body |= {"expires_on": "end-of-treatment"} if ends is None else {"valid_until": iso(ends)}
        participant = data.draw(st.sampled_from(PARTICIPANTS), label="participant")
        consent_id = f"consent-{len(self.consents) + 1}"
        self.consents[consent_id] = Consent.grant(
            body, consent_id=consent_id, participant_id=participant, now=self.now)
        self.expected[consent_id] = Reference(
            participant, set(body["disclosers"]), set(agencies), set(classes),
            set(body["purposes"]), set(body["data_classes"]), max(valid_from, signed_at), ends,
            ends_with_treatment=ends is None)

    @precondition(lambda self: self.consents)
    @rule(data=st.data())
    def revoke_some_recipients(self, data):
        consent_id = self.pick(data)
        consent, expected = self.consents[consent_id], self.expected[consent_id]
        if not expected.revocable(self.now):
            with pytest.raises(Conflict):
                consent.revoke(at=self.now, recipients={"agencies": [], "classes": []})
            return
        choices = [("agencies", a) for a in expected.agencies]
        choices += [("classes", c) for c in expected.classes]
        taken = data.draw(some_of(choices), label="revoked")
        request = {"agencies": [v for k, v in taken if k == "agencies"],
                   "classes": [v for k, v in taken if k == "classes"]}
        revoked = consent.revoke(at=self.now, recipients=request)
        expected.take(set(request["agencies"]), set(request["classes"]))
        assert revoked.full is (expected.status == "revoked")
        assert set(revoked.remaining["agencies"]) == expected.agencies
        self.probe_every_recipient(consent_id)

    @precondition(lambda self: self.consents)
    @rule(data=st.data())
    def revoke_in_full(self, data):
        consent_id = self.pick(data)
        consent, expected = self.consents[consent_id], self.expected[consent_id]
        if not expected.revocable(self.now):
            with pytest.raises(Conflict):
                consent.revoke(at=self.now)
            return
        assert consent.revoke(at=self.now).full
        expected.take(expected.agencies, expected.classes)

    @rule()
    def expiry_timer_runs(self):
        for consent_id, consent in self.consents.items():
            expected = self.expected[consent_id]
            due = expected.status == "active" and expected.lapsed(self.now)
            assert consent.expire_if_due(self.now) is due
            if due:
                expected.expire()

    @precondition(lambda self: self.consents)
    @rule(data=st.data())
    def treatment_ends(self, data):
        consent_id = self.pick(data)
        expected = self.expected[consent_id]
        ends = expected.status == "active" and expected.ends_with_treatment
        assert self.consents[consent_id].expiring_event_occurred("end-of-treatment", self.now) is ends
        if ends:
            expected.expire()

    @rule(minutes=st.integers(1, 2 * 24 * 60))
    def clock_moves_on(self, minutes):
        self.now += timedelta(minutes=minutes)

    @rule(data=st.data())
    def authorize_without_a_consent(self, data):
        decision = authorize(None, "hospital-1", {"class": "peer_group"}, "treatment",
                             ["contact"], data.draw(st.sampled_from(PARTICIPANTS)), self.now)
        assert (decision.permit, decision.reason) == (False, "consent_not_found")

    @precondition(lambda self: self.consents)
    @rule(data=st.data())
    def authorize_agrees_with_the_reference(self, data):
        for _ in range(data.draw(st.integers(1, 6), label="questions")):
            self.ask(data)

    def ask(self, data) -> None:
        consent_id = self.pick(data)
        expected = self.expected[consent_id]
        # Everything the consent names, with one element (or all) free to be anything: both
        # sides of every boundary get visited often, and permits are common enough to matter.
        varied = data.draw(st.sampled_from(
            ["nothing", "discloser", "recipient", "purpose", "data classes", "participant",
             "everything"]), label="varied")

        def choose(element, named, anything):
            free = varied in (element, "everything") or not named
            return sorted(anything if free else named, key=str)

        discloser = data.draw(st.sampled_from(choose("discloser", expected.disclosers,
                                                     DISCLOSERS)), label="discloser")
        recipient = data.draw(st.sampled_from(choose(
            "recipient", self.recipients_named(expected), self.recipients_anywhere())),
            label="recipient")
        purpose = data.draw(st.sampled_from(choose("purpose", expected.purposes, PURPOSES)),
                            label="purpose")
        data_classes = data.draw(some_of(choose("data classes", expected.data_classes,
                                                DATA_CLASSES), 1, 3), label="data classes")
        participant = data.draw(st.sampled_from(choose(
            "participant", {expected.participant}, PARTICIPANTS)), label="participant")

        self.check_decision(consent_id, discloser, recipient, purpose, data_classes, participant)

    def probe_every_recipient(self, consent_id: str) -> None:
        """Right after a revocation: ask about everyone it named, all else being covered."""
        expected = self.expected[consent_id]
        for recipient in self.recipients_named(expected):
            self.check_decision(consent_id, min(expected.disclosers), recipient,
                                min(expected.purposes), [min(expected.data_classes)],
                                expected.participant)

    def check_decision(self, consent_id, discloser, recipient, purpose, data_classes,
                       participant) -> None:
        decision = authorize(self.consents[consent_id], discloser, recipient, purpose,
                             data_classes, participant, self.now)
        problems = self.expected[consent_id].problems(
            discloser, recipient, purpose, data_classes, participant, self.now)
        event("permit" if decision.permit else "deny")
        assert decision.permit is (not problems), (decision, problems)
        assert decision.permit or decision.reason in problems, (decision, problems)
        assert decision.consent_id == consent_id

    @precondition(lambda self: self.consents)
    @rule(data=st.data())
    def earlier_versions_stay_readable(self, data):
        consent = self.consents[self.pick(data)]
        versions = consent.versions
        assert [v["version"] for v in versions] == list(range(1, consent.version + 1))
        assert versions[0]["status"] == "active"
        assert versions[-1] == consent.snapshot()

    @invariant()
    def status_and_version_follow_the_reference(self):
        for consent_id, consent in self.consents.items():
            expected = self.expected[consent_id]
            assert consent.status == expected.status
            assert consent.version == 1 + expected.changes


# About 4,000 steps a run. The explain phase is left out: on a failure it re-runs the
# machine for minutes only to annotate the (already shrunk) steps.
ConsentHistory.TestCase.settings = settings(
    max_examples=120, stateful_step_count=40, deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow], report_multiple_bugs=False,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
)
test_consent_history = ConsentHistory.TestCase
