"""Reading which recipients a partial revocation takes off a consent."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.consent.domain.elements import Recipients
from services.consent.domain.field_errors import FieldErrors
from services.kit.errors import InvalidRequest


def read_revoked_recipients(
    request: Any, current: Recipients
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Agency ids and classes to revoke, each of which the consent covers now.

    Agencies may be given as ids or as ``{id, kind}``. Raises ``InvalidRequest`` naming
    every entry that is malformed or not a current recipient, or when nothing is named
    (leave ``recipients`` out altogether to revoke in full).
    """
    if not isinstance(request, Mapping):
        raise InvalidRequest("recipients must be an object",
                             errors={"recipients": ["must be an object"]})
    p = FieldErrors()
    p.unknown(request, ("agencies", "classes"), "recipients.")
    agency_ids: list[str] = []
    for i, item in enumerate(p.optional_list(request, "agencies", "recipients.agencies")):
        agency_id = item.get("id") if isinstance(item, Mapping) else item
        if agency_id not in current.agency_ids:
            p.add(f"recipients.agencies.{i}", "not a current recipient of this consent")
        elif agency_id not in agency_ids:
            agency_ids.append(agency_id)
    classes: list[str] = []
    for i, kind in enumerate(p.optional_list(request, "classes", "recipients.classes")):
        if kind not in current.classes:
            p.add(f"recipients.classes.{i}", "not a current recipient class of this consent")
        elif kind not in classes:
            classes.append(kind)
    if not p.errors and not agency_ids and not classes:
        p.add("recipients", "name recipients to revoke, or leave recipients out to revoke all")
    if p.errors:
        raise InvalidRequest("cannot revoke these recipients", errors=p.errors)
    return tuple(agency_ids), tuple(classes)
