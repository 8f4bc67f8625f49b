"""The consent promise, as a stateful property over the real consent and referrals handlers.

Hypothesis plays random runs of grants (purposes, data classes with or without
``substance-use``, recipients by name and by class, periods, consents ending with treatment),
narrowings and full revocations, time moving past expiries (with and without the expiry timer),
attestations by a second named discloser, referrals, acceptances (``match.accepted`` as matching
publishes it, for a covered peer group or not), handoff reads, cancellations and the late delivery
of consent's events to referrals. Both services run their real handlers on their own SQLite
databases (``promise_rig``); a small reference model (``promise_model``) says what the consent
permits at each moment. After every step:

- every participant detail, reason and need that left (a ``disclose`` answer, a handoff packet,
  the criteria of ``referral.requested``) was permitted by the model at that moment, for that
  recipient, purpose and data class; what the model permits to the network is shared;
- every disclosure has exactly one ``disclosure`` ledger row and one row in the accounting of
  disclosures, every handoff read one ``access`` row; the ledger verifies.

Derandomized: the same runs each time (80 runs of up to 90 steps, over 5,000 steps in all).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, multiple, precondition, rule

from services.consent import handlers as consent_handlers
from services.consent.domain import commands as c
from services.kit.contract import new_event
from services.kit.errors import Conflict, ConsentRequired, Forbidden, InvalidRequest, NotFound
from services.kit.messages import Caller
from services.referrals.domain.commands import CancelReferral, OpenHandoff, RequestReferral
from services.referrals.handlers import commands as referral_commands
from services.referrals.handlers import consent_events, match_events
from tests.integration.consent.promise_model import (
    PEER_GROUP,
    PURPOSE,
    REFERRAL_REASON,
    SUBSTANCE_USE,
    ModelConsent,
    classes_revealed_by_participant,
    reveals_substance_use,
)
from tests.integration.consent.promise_rig import InProcessConsent, PromiseRig, Release

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
END_OF_TREATMENT_LIFETIME = timedelta(days=10)
HOLDER, SECOND = "hospital-1", "hospital-2"
PEER_A, PEER_B = "peer-a", "peer-b"  # peer-b joins the network three days into each run
PEER_B_ADMITTED = START + timedelta(days=3)
ADMITTED = {PEER_A: START - timedelta(days=30), PEER_B: PEER_B_ADMITTED}
NETWORK = {"class": PEER_GROUP}
OTHER_PARTICIPANT = "00000000-0000-4000-8000-000000000000"
PARTICIPANT = {"given_name": "Zeferina", "family_name": "Quillfeather", "birth_date": "1988-02-29",
               "phone": "+15555550199", "email": "zq.canary@example.org", "preferred_language": "es"}
REASON = "Quillfeather-canary relapse risk after detox discharge"
# Most consents cover a referral, so that runs reach handoffs; the rest miss a purpose or a class.
PURPOSES = ({PURPOSE}, {PURPOSE, "care-coordination"}, {PURPOSE}, {"care-coordination"})
HANDOFF = {"contact", "demographics", REFERRAL_REASON}
CLASS_SETS = (HANDOFF, HANDOFF | {SUBSTANCE_USE}, HANDOFF | {SUBSTANCE_USE}, {"contact", "demographics"},
              {REFERRAL_REASON, SUBSTANCE_USE}, {"contact", REFERRAL_REASON})


def one_in(n: int) -> st.SearchStrategy[bool]:
    """True about once in ``n`` draws (booleans and sampled lists drift toward their first value)."""
    return st.integers(1, n).map(lambda drawn: drawn == n)


def caller(agency_id: str) -> Caller:
    kind = "peer_group" if agency_id.startswith("peer") else "hospital"
    return Caller(agency_id, kind, frozenset({"coordinator" if kind == "peer_group" else "referrer"}))


def peer(agency_id: str) -> dict[str, str]:
    return {"agency_id": agency_id, "kind": "peer_group"}


class ConsentPromise(RuleBasedStateMachine):
    consents = Bundle("consents")
    referrals = Bundle("referrals")
    handoffs = Bundle("handoffs")  # referrals, most of them accepted for a peer group

    def __init__(self) -> None:
        super().__init__()
        self.rig = PromiseRig(START)
        for agency_id, at in ADMITTED.items():
            self.rig.admit(agency_id, "peer_group", at)
        self.consent = InProcessConsent(self.rig, self.check_release)
        self.model: dict[str, ModelConsent] = {}
        self.releases: list[Release] = []
        self.reads: dict[str, int] = {}
        self.referrers: dict[str, tuple[str, str]] = {}  # referral -> (referrer, consent)
        self.cancelled: set[str] = set()
        self.outbox_seen = 0

    def teardown(self) -> None:
        self.rig.close()

    @property
    def now(self) -> datetime:
        return self.rig.now

    def permits(self, consent_id: str, discloser: str, recipient, data_classes,
                participant_id: str | None = None) -> bool:
        model = self.model[consent_id]
        return model.permits(discloser=discloser, recipient=recipient, purpose=PURPOSE,
                             data_classes=data_classes, participant_id=participant_id or model.participant_id,
                             now=self.now, admitted_at=ADMITTED)

    # -- what leaves, checked the moment it leaves --------------------------------------------

    def check_release(self, release: Release) -> None:
        question, answer = release.question, release.answer
        released = classes_revealed_by_participant(answer["participant"])
        assert released <= set(question["data_classes"]), (question, answer["participant"])
        model = self.model[question["consent_id"]]
        assert model.permits(discloser=question["discloser"], recipient=question["recipient"],
                             purpose=question["purpose"], data_classes=question["data_classes"],
                             participant_id=question["participant_id"], now=release.at,
                             admitted_at=ADMITTED), ("released without a consent in force", question)
        self.releases.append(release)

    # -- consents -----------------------------------------------------------------------------

    @rule(target=consents,
          purposes=st.sampled_from(PURPOSES), data_classes=st.sampled_from(CLASS_SETS),
          named=st.sets(st.sampled_from([PEER_A, PEER_B])), by_class=one_in(4).map(lambda rare: not rare),
          second_discloser=st.booleans(), starts_later=one_in(4),
          lasts_hours=st.sampled_from([24 * 5, 30, 24 * 40, 3]), ends_with_treatment=st.booleans(),
          later_members=st.booleans())
    def grant(self, purposes, data_classes, named, by_class, second_discloser, starts_later,
              lasts_hours, ends_with_treatment, later_members):
        valid_from = self.now + (timedelta(hours=1) if starts_later else -timedelta(hours=2))
        ending = ({"expires_on": "end-of-treatment"} if ends_with_treatment
                  else {"valid_until": (valid_from + timedelta(hours=lasts_hours)).isoformat()})
        request = {
            **ending, "participant": dict(PARTICIPANT),
            "disclosers": [HOLDER, SECOND] if second_discloser else [HOLDER],
            "recipients": {"agencies": [{"id": a, "kind": "peer_group"} for a in sorted(named)],
                           "classes": [PEER_GROUP] if by_class or not named else []},
            "purposes": sorted(purposes), "data_classes": sorted(data_classes),
            "valid_from": valid_from.isoformat(), "include_later_members": later_members,
            "signature": {"signed_by": "participant", "signer_name": "Zeferina Quillfeather",
                          "signed_at": (self.now - timedelta(minutes=30)).isoformat(),
                          "method": "electronic"},
        }
        view = consent_handlers.grant(c.GrantConsent(caller(HOLDER), request), self.rig.consent.uow(),
                                      self.rig.keys, self.now,
                                      end_of_treatment_lifetime=END_OF_TREATMENT_LIFETIME)
        until = valid_from + (END_OF_TREATMENT_LIFETIME if ends_with_treatment
                              else timedelta(hours=lasts_hours))
        self.model[view["id"]] = ModelConsent(
            id=view["id"], participant_id=view["participant_id"], holder=HOLDER,
            disclosers=set(request["disclosers"]), attested={HOLDER},
            named={a: "peer_group" for a in named}, classes=set(request["recipients"]["classes"]),
            purposes=set(purposes), data_classes=set(data_classes), valid_from=valid_from,
            valid_until=until, signed_at=self.now - timedelta(minutes=30),
            include_later_members=later_members, ends_with_treatment=ends_with_treatment)
        return view["id"]

    @rule(consent_id=consents, whom=st.sampled_from([PEER_A, PEER_B, PEER_GROUP]), then_read=st.booleans())
    def narrow(self, consent_id, whom, then_read):
        """The holder takes one recipient off; then (``then_read``) the peer groups holding a
        handoff under this consent try to open it, as coordinators keep doing."""
        self.take_off(consent_id, whom)
        if then_read:
            for referral_id, (_, relied_on) in list(self.referrers.items()):
                assigned = self.assigned_to(referral_id)
                if relied_on == consent_id and assigned is not None:
                    self.read(referral_id, assigned)

    def take_off(self, consent_id: str, whom: str) -> None:
        model = self.model[consent_id]
        by_name = whom != PEER_GROUP
        recipients = {"agencies": [whom]} if by_name else {"classes": [whom]}
        current = whom in model.named if by_name else whom in model.classes
        try:
            self.revoke_in_product(consent_id, recipients)
        except Conflict:
            assert not model.usable(self.now)
            return
        except InvalidRequest:
            assert not current
            return
        if current:
            assert model.usable(self.now), "a recipient was taken off a consent no longer in force"
            model.revoke(agency_id=whom) if by_name else model.revoke(kind=whom)

    @rule(consent_id=consents)
    def revoke(self, consent_id):
        model = self.model[consent_id]
        try:
            self.revoke_in_product(consent_id, None)
        except Conflict:
            assert not model.usable(self.now)
            return
        if model.status == "active":
            model.revoke()

    def revoke_in_product(self, consent_id, recipients) -> None:
        command = c.RevokeConsent(caller(HOLDER), consent_id, "participant asked", recipients)
        consent_handlers.revoke(command, self.rig.consent.uow(), self.rig.keys, self.now)

    @rule(consent_id=consents)
    def attest(self, consent_id):
        model = self.model[consent_id]
        try:
            consent_handlers.attest(c.AttestConsent(caller(SECOND), consent_id), self.rig.consent.uow(),
                                    self.rig.keys, self.now)
        except (NotFound, Forbidden):
            assert SECOND not in model.disclosers
            return
        except Conflict:
            assert not model.usable(self.now) and SECOND not in model.attested
            return
        assert SECOND in model.disclosers
        if SECOND not in model.attested:
            assert model.usable(self.now), "an attestation was taken on a consent no longer in force"
            model.attested.add(SECOND)

    @rule(consent_id=consents)
    def end_treatment(self, consent_id):
        model = self.model[consent_id]
        try:
            consent_handlers.end_treatment(c.EndTreatment(caller(HOLDER), consent_id),
                                           self.rig.consent.uow(), self.rig.keys, self.now)
        except Conflict:
            assert not model.ends_with_treatment or model.status == "revoked"
            return
        assert model.ends_with_treatment
        if model.status == "active":
            model.status = "expired"

    @rule(hours=st.sampled_from([1, 12, 24 * 2, 24 * 8]), run_timer=st.booleans(), deliver=st.booleans())
    def time_passes(self, hours, run_timer, deliver):
        """Time moves on; the expiry timer may run, and consent's events may reach referrals
        (or stay late: the handoff must not rely on them)."""
        if deliver:
            self.referrals_hear_of_consent_changes()
        self.rig.now = self.now + timedelta(hours=hours)
        if run_timer:
            consent_handlers.expire_due(c.ExpireDueConsents(), self.rig.consent.uow(), self.rig.keys,
                                        self.now)
            for model in self.model.values():
                if model.status == "active" and self.now >= model.valid_until:
                    model.status = "expired"

    def referrals_hear_of_consent_changes(self) -> None:
        for event in self.rig.undelivered_consent_events():
            uow = self.rig.referrals.uow("referrals.on_consent_ended")
            uow.handle(event, consent_events.on_consent_ended, self.now)

    # -- referrals ----------------------------------------------------------------------------

    @rule(targets=(referrals, handoffs), consent_id=consents,
          referrer=one_in(4).map(lambda s: SECOND if s else HOLDER),
          lived=st.sets(st.sampled_from(["opioids", "overdose-survivor"])),
          medication_assisted=st.booleans(), other_participant=one_in(10),
          matched_with=st.sampled_from([PEER_A, PEER_B, None]))
    def refer(self, consent_id, referrer, lived, medication_assisted, other_participant, matched_with):
        """A referral; matching may accept it at once for ``matched_with``, whose coordinator
        then opens the handoff (the separate rules interleave these with everything else)."""
        model = self.model[consent_id]
        participant_id = OTHER_PARTICIPANT if other_participant else model.participant_id
        needs = {"languages": ["es"], "pathways": ["12-step"] + (["medication-assisted"]
                                                                  if medication_assisted else []),
                 "lived_experience": sorted(lived), "age": 37, "availability": ["mon-evening"],
                 "location": {"lat": 40.71283, "lon": -74.00601}}
        covered = self.permits(consent_id, referrer, NETWORK, [REFERRAL_REASON], participant_id)
        substance = self.permits(consent_id, referrer, NETWORK, [REFERRAL_REASON, SUBSTANCE_USE],
                                 participant_id)
        command = RequestReferral(caller(referrer), participant_id, consent_id, REASON, "routine", needs)
        try:
            view = referral_commands.create_referral(command, self.rig.referrals.uow(), self.consent,
                                                     self.now)
        except ConsentRequired:
            assert not covered, "a referral the consent covers was refused"
            self.check_nothing_requested()
            return multiple()
        assert covered, "a referral was made without a consent covering its reason for the network"
        requested = self.requested_events()
        assert len(requested) == 1
        payload = requested[0]["payload"]
        assert not any(word in json.dumps(payload) for word in ("Quillfeather", "Zeferina", "+1555"))
        criteria = payload["criteria"]
        if reveals_substance_use(criteria):
            assert substance, "substance-use criteria left without a consent covering them"
        assert criteria["substance_use_shared"] == substance
        self.referrers[view["id"]] = (referrer, consent_id)
        if matched_with is not None and self.matched(view["id"], matched_with):
            self.read(view["id"], matched_with)
        return view["id"]

    def requested_events(self) -> list[dict]:
        staged = self.rig.referrals.outbox(self.outbox_seen)
        if staged:
            self.outbox_seen = staged[-1][0]
        return [message for _, message in staged if message["type"] == "referral.requested"]

    def check_nothing_requested(self) -> None:
        assert self.requested_events() == []

    @rule(target=handoffs, referral_id=referrals, agency_id=st.sampled_from([PEER_A, PEER_B]),
          read_at_once=st.booleans())
    def accept(self, referral_id, agency_id, read_at_once):
        """Matching's acceptance for ``agency_id`` (covered or not); its coordinator may open
        the handoff straight away."""
        if not self.matched(referral_id, agency_id):
            return multiple()
        if read_at_once:
            self.read(referral_id, agency_id)
        return referral_id

    def matched(self, referral_id: str, agency_id: str) -> bool:
        """Publish ``match.accepted`` to referrals as matching would; whether it was assigned."""
        referrer, _ = self.referrers[referral_id]
        event = new_event("match.accepted", {
            "match_id": f"match-{referral_id[:8]}-{agency_id}", "referral_id": referral_id,
            "referrer_agency_id": referrer, "mentor_id": "mentor-7", "mentor_agency_id": agency_id,
            "urgency": "routine", "score": 0.8,
            "explanation": [{"factor": "language", "weight": 0.3, "score": 1.0, "contribution": 0.3}]},
            source="matching")
        match_events.on_match(event, self.rig.referrals.uow("referrals.on_match"), self.consent, self.now)
        return self.assigned_to(referral_id) == agency_id

    @rule(referral_id=handoffs, stranger=one_in(4), reader=st.sampled_from([PEER_A, PEER_B, HOLDER]))
    def read_handoff(self, referral_id, stranger, reader):
        """The assigned peer group reads the handoff, or (``stranger``) some agency tries."""
        self.read(referral_id, reader if stranger else self.assigned_to(referral_id) or PEER_A)

    def read(self, referral_id: str, reader: str) -> None:
        referrer, consent_id = self.referrers[referral_id]
        try:
            packet = referral_commands.open_handoff(OpenHandoff(caller(reader), referral_id),
                                                    self.rig.referrals.uow(), self.consent)
        except (NotFound, Forbidden, Conflict, ConsentRequired):
            return
        assert referral_id not in self.cancelled, "a cancelled referral's handoff was read"
        shown = classes_revealed_by_participant(packet["participant"])
        if "reason" in packet:
            assert packet["reason"] == REASON
            shown.add(REFERRAL_REASON)
        if reveals_substance_use(packet.get("needs") or {}):
            shown.add(SUBSTANCE_USE)
        assert shown, "a handoff packet with nothing in it"
        assert self.permits(consent_id, referrer, peer(reader), sorted(shown)), (
            "a handoff was read without a consent in force for it", sorted(shown))
        self.reads[referral_id] = self.reads.get(referral_id, 0) + 1

    def assigned_to(self, referral_id: str) -> str | None:
        uow = self.rig.referrals.uow()
        with uow:
            return uow.referrals.get(referral_id).assigned_agency_id

    @rule(referral_id=referrals)
    def cancel(self, referral_id):
        referrer, _ = self.referrers[referral_id]
        command = CancelReferral(caller(referrer), referral_id, None, "participant-declined")
        try:
            referral_commands.cancel_referral(command, self.rig.referrals.uow(), self.now)
        except Conflict:
            return
        self.cancelled.add(referral_id)

    # -- accounting ---------------------------------------------------------------------------

    @invariant()
    def every_disclosure_is_ledgered_and_accounted_once(self):
        ledgered = self.rig.ledger_rows("disclosure")
        decisions = sorted(row.details["decision_id"] for row in ledgered)
        assert decisions == sorted(r.answer["decision_id"] for r in self.releases)
        accounted = self.rig.accounting({m.participant_id for m in self.model.values()})
        assert sorted(row["ledger_seq"] for row in accounted) == sorted(row.seq for row in ledgered)

    @invariant()
    def every_handoff_read_is_ledgered_once(self):
        reads = {}
        for row in self.rig.ledger_rows("access"):
            reads[row.subject] = reads.get(row.subject, 0) + 1
        assert reads == {f"handoff:{r}": n for r, n in self.reads.items()}

    @precondition(lambda self: self.model)
    @invariant()
    def the_ledger_verifies(self):
        verified = consent_handlers.verify_ledger(c.VerifyLedger(), self.rig.consent.uow(), self.rig.keys)
        assert verified["ok"], verified


# Every run plays the same 80 runs; PROMISE_PROPERTY_EXAMPLES=<more> plays more of them, a deeper
# search before a release or after a change to the consent rules.
EXAMPLES = max(80, int(os.environ.get("PROMISE_PROPERTY_EXAMPLES") or 80))
ConsentPromise.TestCase.settings = settings(
    max_examples=EXAMPLES, stateful_step_count=90, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
test_the_consent_promise_holds = pytest.mark.slow(ConsentPromise.TestCase)

