"""Disclosure control: no published figure describes fewer than k participants.

The method (docs/outcomes.md):

1. Every measure's members fall into *atoms*: the finest cells any report can ask for, one per
   (measure, month, urgency, referrer, peer group, language, outcome category).
2. An atom is *publishable* when it describes at least ``k`` distinct participants. Any other
   atom is left out of every figure of every report, totals included: it never enters a sum,
   a share, a median or a caseload.
3. A report (any months, filters, breakdown or agency scope) sums publishable atoms only, and
   lists a row only where at least one publishable atom lies. A missing row means "fewer than k,
   or none": zero and small look the same.

So every published count, and every difference between two published counts of any two reports
(filters that differ by one group, a breakdown against its total, an agency's view against the
network's), is a sum of whole publishable atoms: zero or at least k participants. Row and column
totals are the sums of the published cells, so they recover nothing that is suppressed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from services.outcomes.domain.measures import DIMENSIONS, MEASURES, NOT_APPLICABLE, Member, cell_statistics

DEFAULT_K = 11
ALL = "all"


@dataclass(frozen=True)
class ReportRequest:
    """What a report is asked for; every part narrows or arranges publishable atoms."""

    k: int = DEFAULT_K
    months: tuple[str, str] | None = None  # first and last month, inclusive
    filters: Mapping[str, frozenset[str]] = field(default_factory=dict)  # dimension → allowed groups
    by: str | None = None  # one of DIMENSIONS
    agency_id: str | None = None  # an agency's own view: its referrals as referrer or peer group
    measures: tuple[str, ...] = tuple(MEASURES)


def atoms(members: Iterable[Member]) -> dict[tuple, list[Member]]:
    grouped: dict[tuple, list[Member]] = defaultdict(list)
    for member in members:
        grouped[(member.measure, member.month, member.dims, member.category)].append(member)
    return grouped


def participants(atom: Iterable[Member]) -> int:
    """Distinct participants an atom describes (a member of unknown participant counts for none)."""
    return len({m.participant_ref for m in atom if m.participant_ref})


def publishable(members: Iterable[Member], k: int) -> list[Member]:
    """The members of atoms describing at least ``k`` participants."""
    kept: list[Member] = []
    for atom in atoms(members).values():
        if participants(atom) >= k:
            kept.extend(atom)
    return kept


def _selected(member: Member, request: ReportRequest) -> bool:
    if request.months and not request.months[0] <= member.month <= request.months[1]:
        return False
    if member.dims[0] == NOT_APPLICABLE:
        # Consent endings belong to no referral's groups: network-wide, unfiltered views only.
        return not request.filters and request.agency_id is None and request.by is None
    for name, allowed in request.filters.items():
        if member.dim(name) not in allowed:
            return False
    own = (member.dim("referrer"), member.dim("peer_group"))
    if request.agency_id is not None and request.agency_id not in own:
        return False
    return True


def _category(member: Member) -> str:
    return member.category.split(":")[0] if member.measure == "engagement" else member.category


def report(members: Iterable[Member], request: ReportRequest) -> list[dict[str, Any]]:
    """The tables of a report: for each measure, rows of ``{"month", "group", "category", ...figures}``.

    With a breakdown (``by``) each month also has its ``group: "all"`` row, and every report has
    ``month: "all"`` rows over its months: all of them sums of the published cells.
    """
    if request.k < 1:
        raise ValueError("k must be at least 1")
    kept = [m for m in publishable(members, request.k) if _selected(m, request)]
    tables = []
    for measure in request.measures:
        title, figures = MEASURES[measure]
        chosen = [m for m in kept if m.measure == measure]
        cells: dict[tuple[str, str, str], list[Member]] = defaultdict(list)
        for member in chosen:
            group = member.dim(request.by) if request.by else ALL
            for month in (member.month, ALL):
                for grouping in ({group, ALL} if request.by else {ALL}):
                    cells[(month, grouping, _category(member))].append(member)
        wholes: dict[tuple[str, str], list[Member]] = defaultdict(list)
        for (month, group, _), cell in cells.items():
            wholes[(month, group)].extend(cell)
        rows = []
        for (month, group, category), cell in sorted(cells.items(), key=_row_order):
            if measure in ("mentor_caseload", "waitlist_length") and month == ALL:
                continue  # month-end states do not add up across months
            row = {"month": month, "group": group, "category": category}
            row.update(_figures(measure, category, cell, wholes[(month, group)]))
            rows.append(row)
        tables.append({"measure": measure, "title": title, "figures": list(figures),
                       "by": request.by, "rows": rows})
    return tables


def _row_order(item) -> tuple:
    (month, group, category), _ = item
    return (month == ALL, month, group == ALL, group, category)


def _figures(measure: str, category: str, cell: list[Member], whole: list[Member]) -> dict[str, Any]:
    if measure == "engagement":
        engaged = sum(1 for m in cell if m.category.endswith(":engaged"))
        return {"share": round(engaged / len(cell), 3)}
    return cell_statistics(measure, cell, whole)


DIMENSION_NAMES = DIMENSIONS
