"""Stateful property: over any history of grants, revocations, expiries and clock steps,
``authorize`` permits exactly when a consent in force at that moment covers the discloser,
the recipient, the purpose and every data class. The reference below is written from the
rules in plain words, independently of the domain code (``consent_reference.py``).
"""

from __future__ import annotations

from datetime import timedelta

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
from tests.unit.consent.consent_reference import (
    AGENCIES,
    DISCLOSERS,
    PARTICIPANTS,
    PERSON,
    START,
    Reference,
    iso,
    some_of,
)


class ConsentHistory(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = START
        self.consents: dict[str, Consent] = {}
        self.expected: dict[str, Reference] = {}
        self.named_disclosers: dict[str, list[str]] = {}

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
        holder = body["disclosers"][0]  # the recording agency; the others must attest first
        self.consents[consent_id] = Consent.grant(
            body, consent_id=consent_id, participant_id=participant, holder=holder, now=self.now)
        self.named_disclosers[consent_id] = list(body["disclosers"])
        self.expected[consent_id] = Reference(
            participant, {holder}, set(agencies), set(classes),
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

    @precondition(lambda self: self.consents)
    @rule(data=st.data())
    def a_named_discloser_attests(self, data):
        consent_id = self.pick(data)
        consent, expected = self.consents[consent_id], self.expected[consent_id]
        agency = data.draw(st.sampled_from(self.named_disclosers[consent_id]), label="attesting")
        if agency in expected.disclosers:
            assert consent.attest(agency, at=self.now) is False
        elif not expected.revocable(self.now):
            with pytest.raises(Conflict):
                consent.attest(agency, at=self.now)
        else:
            assert consent.attest(agency, at=self.now) is True
            expected.disclosers.add(agency)
            expected.changes += 1

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
