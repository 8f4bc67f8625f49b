"""When each agency was admitted to the network, as the decision point needs it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, insert, select
from sqlalchemy.orm import Session

from services.consent.adapters.orm import admissions

# Built once: the decision point runs them for every question about a peer group.
_ADMITTED_AFTER = select(admissions.c.agency_id).where(
    admissions.c.kind == bindparam("kind"), admissions.c.admitted_at > bindparam("at"))
_ADMITTED_AT = select(admissions.c.admitted_at).where(admissions.c.agency_id == bindparam("agency_id"))


class AdmissionRepository:
    """Agencies' admissions in one unit of work's session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def admit(self, agency_id: str, kind: str, at: datetime) -> None:
        """Record the agency's admission at ``at``; an agency admitted already keeps its first."""
        if self.admitted_at(agency_id) is None:
            self.session.execute(insert(admissions).values(agency_id=agency_id, kind=kind, admitted_at=at))

    def admitted_after(self, at: datetime, kind: str) -> list[str]:
        """The ids of the agencies of ``kind`` admitted after ``at``."""
        return list(self.session.execute(_ADMITTED_AFTER, {"kind": kind, "at": at}).scalars())

    def admitted_at(self, agency_id: str) -> datetime | None:
        """When the agency was admitted; None for one admitted before admissions were recorded."""
        return self.session.execute(_ADMITTED_AT, {"agency_id": agency_id}).scalar()
