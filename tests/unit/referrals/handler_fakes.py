"""A fake consent client and a fake unit of work carrying in-memory referrals, for handler tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fake_referrals import FakeReferrals
from referral_builders import NEEDS, PEER_GROUP, REFERRER

from services.kit.contract import new_event
from services.kit.errors import ConsentRequired
from services.kit.messages import Caller
from services.referrals.domain.commands import RequestReferral
from tests.unit.fake_unit_of_work import FakeCreations, FakeUnitOfWork

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
PARTICIPANT = {"given_name": "Zeferina", "family_name": "Quillfeather", "phone": "+15555550199"}
REASON = "Zeferina asked for support after detox discharge"
SUMMARY = {"consent_id": "consent-1", "purposes": ["peer-support-referral"]}
NOTICE = "This record which has been disclosed to you is protected by Federal confidentiality rules"


class FakeConsent:
    """Answers like the consent service; asserts that no transaction is open while it is asked."""

    def __init__(self, uow) -> None:
        self.uow = uow
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.deny_with: str | None = None
        self.allowed = {"agencies": [PEER_GROUP], "classes": ["peer_group"], "excluded": []}
        # The data classes the consent covers for every recipient.
        self.covered = ["contact", "demographics", "referral-reason", "substance-use"]

    def _called(self, method: str, request: dict[str, Any]) -> None:
        assert self.uow.session is None, f"{method} was asked while a transaction was open"
        self.calls.append((method, request))

    def authorize(self, **request: Any) -> dict[str, Any]:
        """As the consent service: ``refusal`` is what the asking agency may see (as if it held
        the consent), and a permitted ``read`` is ledgered with the decision (``reads``)."""
        self._called("authorize", request)
        if self.deny_with:
            return {"permit": False, "reason": self.deny_with, "refusal": self.deny_with,
                    "consent_id": request["consent_id"], "decision_id": "d-1",
                    "allowed": {"agencies": [], "classes": [], "excluded": []}}
        return {"permit": True, "reason": "covered", "refusal": None,
                "consent_id": request["consent_id"], "decision_id": "d-1", "allowed": self.allowed}

    def reads(self) -> list[dict[str, Any]]:
        """The reads ledgered with a permit: who read what about whom."""
        return [{"actor": r["asking"], "participant_id": r["participant_id"], "what": r["read"]}
                for r in self.named("authorize") if r.get("read") and not self.deny_with]

    def covered_classes(self, **request: Any) -> dict[str, Any]:
        self._called("covered_classes", request)
        covered = [] if self.deny_with else [dc for dc in request["data_classes"] if dc in self.covered]
        return {"consent_id": request["consent_id"], "covered": covered,
                "allowed": self.allowed if covered else {"agencies": [], "classes": [], "excluded": []}}

    def disclose(self, **request: Any) -> dict[str, Any]:
        self._called("disclose", request)
        if self.deny_with:
            raise ConsentRequired("denied", reason=self.deny_with)
        if any(dc not in self.covered for dc in request["data_classes"]):
            raise ConsentRequired("denied", reason="data_class_not_covered")
        return {"permit": True, "decision_id": "d-2", "participant": dict(PARTICIPANT),
                "consent": dict(SUMMARY), "redisclosure_notice": NOTICE}

    def record_access(self, **request: Any) -> dict[str, Any]:
        self._called("record_access", request)
        return {"seq": len(self.calls)}

    def named(self, method: str) -> list[dict[str, Any]]:
        return [request for name, request in self.calls if name == method]


def unit_of_work(consumer: str = "referrals.test") -> FakeUnitOfWork:
    return FakeUnitOfWork(source="referrals", consumer=consumer, referrals=FakeReferrals(),
                          creations=FakeCreations())


def stored(uow: FakeUnitOfWork) -> FakeReferrals:
    """The in-memory referrals behind ``uow.referrals``."""
    return uow.repositories["referrals"]


def asking(agency_id: str, *, admin: bool = False) -> Caller:
    """The caller an agency of these tests is: the referrer a hospital, the peer group's coordinator,
    anyone else a clinic's referrer; with ``admin`` a network administrator."""
    if agency_id == PEER_GROUP:
        return Caller(agency_id, "peer_group", frozenset({"coordinator"}))
    kind = "hospital" if agency_id == REFERRER else "clinic"
    return Caller(agency_id, kind, frozenset({"admin"} if admin else {"referrer"}))


def request_command(**overrides: Any) -> RequestReferral:
    args = dict(caller=asking(REFERRER), participant_id="participant-1",
                consent_id="consent-1", reason=REASON, urgency="routine", needs=NEEDS)
    return RequestReferral(**{**args, **overrides})


def match_event(type_: str, referral_id: str, *, match_id: str = "match-1", agency: str = PEER_GROUP,
                minutes: int = 0, reason_code: str | None = None):
    """A ``match.*`` event as matching publishes it, ``minutes`` after NOW."""
    at = NOW + timedelta(minutes=minutes)
    if type_ == "match.waitlisted":
        payload = {"referral_id": referral_id, "referrer_agency_id": REFERRER, "urgency": "routine"}
    else:
        payload = {"match_id": match_id, "referral_id": referral_id, "referrer_agency_id": REFERRER,
                   "mentor_id": "mentor-1", "mentor_agency_id": agency, "urgency": "routine",
                   "score": 0.8, "explanation": [{"factor": "language", "weight": 0.3, "score": 1.0,
                                                  "contribution": 0.3}], "reason_code": reason_code}
    return new_event(type_, payload, source="matching", occurred_at=at)


def expired_event():
    return new_event("consent.expired", {"consent_id": "consent-1", "participant_id": "participant-1"},
                     source="consent")


def revoked_event(*, full: bool, revoked: dict | None = None, remaining: dict | None = None):
    empty = {"agencies": [], "classes": []}
    return new_event("consent.revoked", {
        "consent_id": "consent-1", "participant_id": "participant-1", "full": full,
        "revoked": revoked or empty, "remaining": remaining or empty}, source="consent")


def published(uow: FakeUnitOfWork) -> list[dict[str, Any]]:
    """Every committed event message, in order."""
    return [event.to_message() for event in uow.published]
