"""The measures: every read-model row becomes *members* of the measures it counts in.

A member is one referral (or one ended consent, or one refusal) in one measure: the month it counts in, its
groups (urgency, referrer, peer group, language), an outcome category where the measure has
them, the participant it describes (a digest, for counting people) and a value (days, a score
change). ``services.outcomes.domain.disclosure`` turns members into the published tables.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from services.outcomes.domain.projection import WINDOW_DAYS, WINDOWS

DIMENSIONS = ("urgency", "referrer", "peer_group", "language")
NONE = "none"  # a group not known (no peer group yet, no language given)
NOT_APPLICABLE = "n/a"  # consent endings belong to no referral's groups


@dataclass(frozen=True)
class Member:
    measure: str
    month: str
    dims: tuple[str, str, str, str]  # in DIMENSIONS order
    category: str
    participant_ref: str | None
    value: float | None = None
    mentor_id: str | None = None

    def dim(self, name: str) -> str:
        return self.dims[DIMENSIONS.index(name)]


def month_of(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m")


def month_end(month: str) -> datetime:
    """The first instant after ``month`` (``2026-01`` → 2026-02-01T00:00Z)."""
    year, mon = (int(part) for part in month.split("-"))
    return datetime(year + mon // 12, mon % 12 + 1, 1, tzinfo=UTC)


def months_between(first: str, last: str) -> list[str]:
    months, month = [], first
    while month <= last:
        months.append(month)
        month = month_of(month_end(month))
    return months


def days(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 86400


def _dims(row: dict[str, Any]) -> tuple[str, str, str, str]:
    return (row.get("urgency") or NONE, row.get("referrer_agency_id") or NONE,
            row.get("peer_group_id") or NONE, row.get("language") or NONE)


# name → (title, statistics published, whether the measure has outcome categories)
MEASURES: dict[str, tuple[str, tuple[str, ...]]] = {
    "referrals_made": ("Referrals made, by month requested", ("count",)),
    "consent_endings": ("Consents ended, by reason and month", ("count",)),
    "consent_refusals": ("Referrals consent refused as they were made, by reason and month", ("count",)),
    "time_to_proposal": ("Days from request to first proposal, by month requested",
                         ("median_days", "p90_days")),
    "time_to_acceptance": ("Days from request to handoff, by month requested", ("median_days", "p90_days")),
    "time_to_first_contact": ("Days from request to first reached contact, by month requested",
                              ("median_days", "p90_days")),
    "waitlist_length": ("Referrals on the waitlist at month end", ("count",)),
    "waitlist_wait": ("Days on the waitlist until a proposal, by month the wait ended",
                      ("median_days", "p90_days")),
    "closures": ("Referrals closed, by outcome and reason code, by month closed", ("count", "share")),
    "engagement": ("Share engaged (a reached contact or a check-in answer) 30, 60 and 90 days after handoff, "
                   "by month of handoff", ("share",)),
    "barc_change": ("BARC-10 change from handoff to 90 days, by month of handoff", ("mean", "median")),
    "mentor_caseload": ("Participants per mentor with an active match at month end",
                        ("active", "per_mentor")),
}


def members(referrals: Iterable[dict[str, Any]], endings: Iterable[dict[str, Any]],
            refusals: Iterable[dict[str, Any]], as_of: datetime) -> list[Member]:
    """Every member of every measure, as of ``as_of`` (later facts are not counted)."""
    referrals = [row for row in referrals
                 if _before(row.get("requested_at") or row.get("accepted_at"), as_of)]
    out: list[Member] = []
    for row in referrals:
        out.extend(_referral_members(row, as_of))
    for ending in endings:
        if _before(ending["ended_at"], as_of):
            out.append(Member("consent_endings", month_of(ending["ended_at"]), (NOT_APPLICABLE,) * 4,
                              ending["reason"], ending["participant_ref"]))
    for refusal in refusals:
        if _before(refusal["refused_at"], as_of):
            out.append(_refusal_member(refusal))
    out.extend(_month_end_members(referrals, as_of))
    return out


def _refusal_member(refusal: dict[str, Any]) -> Member:
    """A refusal counts in the month it happened, by reason, in the groups the request named;
    it never had a peer group (``none``), so it is in its referrer's view and not a peer group's."""
    dims = (refusal.get("urgency") or NONE, refusal.get("referrer_agency_id") or NONE, NONE,
            refusal.get("language") or NONE)
    return Member("consent_refusals", month_of(refusal["refused_at"]), dims, refusal["reason"],
                  refusal.get("participant_ref"))


def _before(at: datetime | None, as_of: datetime) -> bool:
    return at is not None and at <= as_of


def _at(row: dict[str, Any], name: str, as_of: datetime) -> datetime | None:
    at = row.get(name)
    return at if _before(at, as_of) else None


def _referral_members(row: dict[str, Any], as_of: datetime) -> list[Member]:
    dims, who = _dims(row), row.get("participant_ref")
    out: list[Member] = []
    requested = _at(row, "requested_at", as_of)
    if requested is not None:
        month = month_of(requested)
        out.append(Member("referrals_made", month, dims, "all", who))
        for measure, name in (("time_to_proposal", "proposed_at"), ("time_to_acceptance", "accepted_at"),
                              ("time_to_first_contact", "first_contact_at")):
            at = _at(row, name, as_of)
            if at is not None:
                out.append(Member(measure, month, dims, "all", who, days(requested, at)))
    waitlisted, ended = _at(row, "waitlisted_at", as_of), _at(row, "wait_ended_at", as_of)
    if waitlisted is not None and ended is not None:
        out.append(Member("waitlist_wait", month_of(ended), dims, "all", who, days(waitlisted, ended)))
    closed = _at(row, "closed_at", as_of)
    if closed is not None:
        category = f"{row['closed_status']}/{row['close_reason']}"
        out.append(Member("closures", month_of(closed), dims, category, who))
    handoff = _at(row, "accepted_at", as_of)
    if handoff is not None:
        month = month_of(handoff)
        for window in WINDOWS:
            if handoff + timedelta(days=WINDOW_DAYS * window) <= as_of:
                engaged = "engaged" if window in (row.get("engaged_windows") or []) else "not-engaged"
                out.append(Member("engagement", month, dims, f"{WINDOW_DAYS * window}d:{engaged}", who))
        if row.get("barc_handoff") is not None and row.get("barc_day90") is not None:
            out.append(Member("barc_change", month, dims, "all", who,
                              float(row["barc_day90"] - row["barc_handoff"])))
    return out


def _month_end_members(referrals: list[dict[str, Any]], as_of: datetime) -> list[Member]:
    """Waitlist length and mentor caseloads: who was waiting, or matched, at each month's end."""
    starts = [row["requested_at"] for row in referrals if row.get("requested_at")]
    if not starts:
        return []
    out: list[Member] = []
    for month in months_between(month_of(min(starts)), month_of(as_of)):
        end = min(month_end(month), as_of)
        for row in referrals:
            closed = row.get("closed_at")
            open_then = closed is None or closed > end
            waitlisted, ended = row.get("waitlisted_at"), row.get("wait_ended_at")
            if waitlisted is not None and waitlisted <= end and (ended is None or ended > end) and open_then:
                out.append(Member("waitlist_length", month, _dims(row), "all", row.get("participant_ref")))
            handoff = row.get("accepted_at")
            if row.get("mentor_id") and handoff is not None and handoff <= end and open_then:
                out.append(Member("mentor_caseload", month, _dims(row), "all", row.get("participant_ref"),
                                  mentor_id=row["mentor_id"]))
    return out


# -- statistics of one published cell --------------------------------------------------------

def p90(values: Sequence[float]) -> float:
    """The 90th percentile by nearest rank."""
    ordered = sorted(values)
    return ordered[max(math.ceil(0.9 * len(ordered)) - 1, 0)]


def cell_statistics(measure: str, cell: Sequence[Member], whole: Sequence[Member]) -> dict[str, Any]:
    """The published figures of a cell; ``whole`` is the cell's month and group over every category
    (for shares). Both hold members of publishable groups only."""
    if measure in ("referrals_made", "consent_endings", "consent_refusals", "waitlist_length"):
        return {"count": len(cell)}
    if measure == "closures":
        return {"count": len(cell), "share": round(len(cell) / len(whole), 3)}
    if measure == "mentor_caseload":
        mentors = {m.mentor_id for m in cell}
        return {"active": len(cell), "per_mentor": round(len(cell) / len(mentors), 1)}
    values = [m.value for m in cell if m.value is not None]
    if measure == "barc_change":
        return {"mean": round(statistics.fmean(values), 1), "median": round(statistics.median(values), 1)}
    return {"median_days": round(statistics.median(values), 1), "p90_days": round(p90(values), 1)}
