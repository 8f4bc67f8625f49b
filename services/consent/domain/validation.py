"""Reading a grant request into consent elements, naming every problem at once.

A consent missing one element is as invalid as one missing five, and the person fixing
the form should see all five in one answer: problems are collected by field path
(``signature.signer_name``, ``recipients.agencies.0.kind``) and raised together.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from services.consent.domain.elements import (
    EXPIRING_EVENTS,
    SIGNATURE_METHODS,
    SIGNERS,
    AgencyRecipient,
    Recipients,
    Signature,
    parse_instant,
)
from services.consent.domain.field_errors import MISSING, FieldErrors
from services.kit.errors import InvalidRequest
from services.kit.vocabulary import AGENCY_KINDS, DATA_CLASSES, PURPOSES, is_email, is_phone

REQUEST_FIELDS = (
    "participant", "disclosers", "recipients", "purposes", "data_classes",
    "valid_from", "valid_until", "expires_on", "signature", "include_later_members", "agency_names",
)
REQUIRED_PARTICIPANT = ("given_name", "family_name", "birth_date", "preferred_language")
OPTIONAL_PARTICIPANT = ("phone", "email")
HOLDER_NOT_DISCLOSER = "must include the agency recording the consent"
# Clinic clocks and ours disagree a little; a signature from further ahead is an error.
CLOCK_SKEW = timedelta(minutes=5)

_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


@dataclass(frozen=True)
class GrantTerms:
    """The validated elements of a consent request."""

    participant_id: str
    participant: dict[str, str]
    disclosers: tuple[str, ...]
    recipients: Recipients
    purposes: tuple[str, ...]
    data_classes: tuple[str, ...]
    valid_from: datetime
    valid_until: datetime | None
    expires_on: str | None
    signature: Signature
    # Whether a class of recipients ("peer groups of this network") also covers agencies admitted
    # to the network after the consent was signed; without it, only those admitted by then.
    include_later_members: bool = False
    agency_names: dict[str, str] = field(default_factory=dict)


def read_grant_request(request: Any, *, participant_id: str, now: datetime,
                       holder: str | None = None) -> GrantTerms:
    """Validate a grant request (docs/api.md ``POST /v1/consents`` body, agencies as ``{id, kind}``);
    ``holder``, the agency recording it, must be one of the disclosers.

    Raises ``InvalidRequest`` whose ``errors`` name every missing or invalid element.
    """
    if not isinstance(request, Mapping):
        raise InvalidRequest("a consent must be an object", errors={"request": ["not an object"]})
    p = FieldErrors()
    p.unknown(request, REQUEST_FIELDS)
    if not isinstance(participant_id, str) or not participant_id:
        p.add("participant_id", MISSING)
    participant = _participant(p, request.get("participant"), now)
    disclosers = _disclosers(p, request.get("disclosers"))
    if holder is not None and disclosers and holder not in disclosers:
        p.add("disclosers", HOLDER_NOT_DISCLOSER)
    recipients = _recipients(p, request.get("recipients"))
    purposes = p.choices(request, "purposes", PURPOSES)
    data_classes = p.choices(request, "data_classes", DATA_CLASSES)
    valid_from, valid_until, expires_on = _period(p, request, now)
    signature = _signature(p, request.get("signature"), now)
    later = request.get("include_later_members", False)
    if not isinstance(later, bool):
        p.add("include_later_members", "must be true or false")
    agency_names = _agency_names(p, request.get("agency_names"))
    if p.errors:
        raise InvalidRequest("the consent is missing or has invalid elements", errors=p.errors)
    return GrantTerms(
        participant_id, participant, disclosers, recipients, purposes, data_classes,
        valid_from, valid_until, expires_on, signature, later is True, agency_names,
    )


def _agency_names(p: FieldErrors, value: Any) -> dict[str, str]:
    """``{agency id: registered name}``, as the gateway adds them (optional)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        p.add("agency_names", "must map agency ids to names")
        return {}
    names = {}
    for agency_id, name in value.items():
        if not isinstance(agency_id, str) or not isinstance(name, str) or not name.strip():
            p.add("agency_names", "must map agency ids to names")
            continue
        names[agency_id] = name.strip()
    return names


def _participant(p: FieldErrors, data: Any, now: datetime) -> dict[str, str]:
    if not isinstance(data, Mapping):
        p.add("participant", MISSING if data is None else "must be an object")
        return {}
    p.unknown(data, REQUIRED_PARTICIPANT + OPTIONAL_PARTICIPANT, "participant.")
    details = {k: p.text(data, k, f"participant.{k}") for k in REQUIRED_PARTICIPANT}
    details |= {k: p.text(data, k, f"participant.{k}", required=False) for k in OPTIONAL_PARTICIPANT}
    checks = [
        ("birth_date", _is_past_date(now), "must be a past date, YYYY-MM-DD"),
        ("phone", is_phone, "must be in E.164 form, e.g. +15555550100"),
        ("email", is_email, "must be an email address"),
        ("preferred_language", _LANGUAGE.match, "must be a language tag such as es or en-US"),
    ]
    for key, valid, message in checks:
        if details.get(key) is not None and not valid(details[key]):
            p.add(f"participant.{key}", message)
    return {k: v for k, v in details.items() if v is not None}


def _is_past_date(now: datetime):
    def check(text: str) -> bool:
        try:
            return date(1900, 1, 1) <= date.fromisoformat(text) <= now.date()
        except ValueError:
            return False
    return check


def _disclosers(p: FieldErrors, value: Any) -> tuple[str, ...]:
    if not value:
        p.add("disclosers", MISSING)
        return ()
    if not isinstance(value, list | tuple):
        p.add("disclosers", "must be a list of agency ids")
        return ()
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item:
            p.add(f"disclosers.{i}", "must be an agency id")
    return tuple(dict.fromkeys(v for v in value if isinstance(v, str) and v))


def _recipients(p: FieldErrors, value: Any) -> Recipients:
    if not isinstance(value, Mapping):
        p.add("recipients", MISSING if value is None else "must be an object")
        return Recipients()
    p.unknown(value, ("agencies", "classes"), "recipients.")
    agencies: dict[str, AgencyRecipient] = {}
    for i, item in enumerate(p.optional_list(value, "agencies", "recipients.agencies")):
        path = f"recipients.agencies.{i}"
        if not isinstance(item, Mapping):
            p.add(path, "must be {id, kind}")
            continue
        agency_id = p.text(item, "id", f"{path}.id")
        kind = item.get("kind")
        if kind not in AGENCY_KINDS:
            p.add(f"{path}.kind", MISSING if kind is None else "unknown agency kind")
        elif agency_id and agencies.get(agency_id, AgencyRecipient(agency_id, kind)).kind != kind:
            p.add(f"{path}.kind", "the same agency is listed with two kinds")
        elif agency_id:
            agencies[agency_id] = AgencyRecipient(agency_id, kind)
    classes = []
    for i, kind in enumerate(p.optional_list(value, "classes", "recipients.classes")):
        if kind not in AGENCY_KINDS:
            p.add(f"recipients.classes.{i}", "unknown agency kind")
        elif kind not in classes:
            classes.append(kind)
    if not value.get("agencies") and not value.get("classes"):
        p.add("recipients", "name at least one recipient agency or class")
    return Recipients(tuple(agencies.values()), tuple(classes))


def _period(p: FieldErrors, request: Mapping, now: datetime):
    valid_from = p.instant(request, "valid_from")
    valid_until = p.instant(request, "valid_until", required=False)
    expires_on = request.get("expires_on")
    if expires_on is not None and expires_on not in EXPIRING_EVENTS:
        p.add("expires_on", f"must be one of {', '.join(EXPIRING_EVENTS)}")
    if request.get("valid_until") is None and expires_on is None:
        p.add("valid_until", "give valid_until or expires_on (an expiring event)")
    elif request.get("valid_until") is not None and expires_on is not None:
        p.add("expires_on", "give valid_until or expires_on, not both")
    if valid_until is not None:
        if valid_from is not None and valid_until <= valid_from:
            p.add("valid_until", "must be after valid_from")
        elif valid_until <= now:
            p.add("valid_until", "is already in the past")
    return valid_from, valid_until, expires_on


def _signature(p: FieldErrors, data: Any, now: datetime) -> Signature:
    if not isinstance(data, Mapping):
        p.add("signature", MISSING if data is None else "must be an object")
        return None  # type: ignore[return-value]  # never returned: errors are raised first
    known = ("signed_by", "signer_name", "signed_at", "method", "authority")
    p.unknown(data, known, "signature.")
    signed_by, method = data.get("signed_by"), data.get("method")
    if signed_by not in SIGNERS:
        p.add("signature.signed_by",
              MISSING if signed_by is None else "must be participant or representative")
    if method not in SIGNATURE_METHODS:
        p.add("signature.method",
              MISSING if method is None else f"must be one of {', '.join(SIGNATURE_METHODS)}")
    signer_name = p.text(data, "signer_name", "signature.signer_name")
    authority = p.text(data, "authority", "signature.authority",
                       required=signed_by == "representative")
    if authority and signed_by == "participant":
        p.add("signature.authority", "only a representative states an authority")
    signed_at = None
    if data.get("signed_at") is None:
        p.add("signature.signed_at", MISSING)
    else:
        try:
            signed_at = parse_instant(data["signed_at"])
            if signed_at > now + CLOCK_SKEW:
                p.add("signature.signed_at", "is in the future")
        except ValueError as exc:
            p.add("signature.signed_at", str(exc))
    return Signature(signed_by, signer_name, signed_at, method, authority)  # type: ignore[arg-type]
