"""The words every message of the network is written in, and the marshmallow fields that check them.

Closed vocabularies (agency kinds, purposes, statuses...) and the one rule for each shared kind of
value: ids, emails, phone numbers, language tags, week slots, locations and free text. Every schema
of the services and the gateway builds its fields here, so a rule is written once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

AGENCY_KINDS = ("hospital", "clinic", "sober_living", "peer_group")
# The organisation running the network: it administers agencies, never receives participant data,
# and is never a recipient class of a consent, so it is not one of ``AGENCY_KINDS``.
OPERATOR = "operator"
# A funder (or another body the network reports to) reads de-identified outcome reports and
# nothing else; like the operator it is never a consent's recipient class.
FUNDER = "funder"
CALLER_KINDS = (*AGENCY_KINDS, OPERATOR, FUNDER)
ROLES = ("referrer", "coordinator", "admin", OPERATOR, FUNDER)
AGENCY_STATUSES = ("active", "deactivated")
# Who acted: ``key:<key name>`` for a machine key, ``person:<id>`` for a signed-in person,
# ``cli:<login>`` for the command line, ``smart:<client name>`` for a SMART back-end client's token.
ACTOR_LABEL = r"^(key|person|cli|smart):[A-Za-z0-9._-]{1,64}$"
PURPOSES = ("peer-support-referral", "care-coordination", "treatment")
DATA_CLASSES = ("demographics", "contact", "referral-reason", "substance-use", "mental-health")
PATHWAYS = ("12-step", "secular", "faith-based", "medication-assisted")
# Lived experience a participant asks for, and a mentor brings: codes, never free text.
LIVED_EXPERIENCE = (
    "alcohol", "opioids", "stimulants", "cannabis", "benzodiazepines", "polysubstance",
    "overdose-survivor", "co-occurring-mental-health", "incarceration", "homelessness",
    "family-in-recovery",
)
# Stored before lived experience was a vocabulary: words read as these codes; any other word is
# dropped on read (it never matched anything but the same word).
LEGACY_LIVED_EXPERIENCE = {
    "alcohol use": "alcohol", "alcoholism": "alcohol", "opioid": "opioids", "heroin": "opioids",
    "fentanyl": "opioids", "fentanyl overdose": "overdose-survivor", "overdose": "overdose-survivor",
    "cocaine": "stimulants", "meth": "stimulants", "methamphetamine": "stimulants",
    "stimulant": "stimulants", "marijuana": "cannabis", "benzos": "benzodiazepines",
    "incarcerated": "incarceration", "homeless": "homelessness",
}
# Matching criteria that reveal substance use: they leave referrals only under "substance-use".
SUBSTANCE_USE_PATHWAYS = ("medication-assisted",)
# Why a referral was cancelled, put on hold or failed, or a match declined (after the SDOH
# Clinical Care IG's Task.statusReason). Every party to the referral sees the code; the words
# an agency adds stay sealed and are shown to that agency only.
STATUS_REASONS = (
    "capacity", "not-eligible", "participant-declined", "unable-to-contact", "no-longer-needed",
    "referred-elsewhere", "consent-ended", "other",
)
OTHER_REASON = "other"  # what an agency's words alone, without a code, read as
URGENCIES = ("routine", "urgent")
CHANNELS = ("webhook", "email", "sms")
# Where a delivery may go: an agency's channels, or one of its FHIR Subscriptions' rest-hooks.
DELIVERY_CHANNELS = (*CHANNELS, "fhir-rest-hook")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PARTS_OF_DAY = ("morning", "afternoon", "evening", "night")
SLOTS = tuple(f"{d}-{p}" for d in DAYS for p in PARTS_OF_DAY)

REFERRAL_STATUSES = (
    "requested", "accepted", "rejected", "in-progress", "on-hold", "completed", "failed", "cancelled",
)
FINAL_REFERRAL_STATUSES = ("rejected", "completed", "failed", "cancelled")
MATCH_STATUSES = ("proposed", "accepted", "declined", "expired", "withdrawn")

# The network itself acts as intermediary between referrers and peer groups.
NETWORK_RECIPIENT = "network"
GENDERS = ("female", "male", "non-binary")
LANGUAGE_TAG = r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$"  # BCP 47 shaped: "es", "en-US"
# Part 2 §2.31 signature elements: who signed, how, and (for a representative) by what authority.
SIGNERS = ("participant", "representative")
SIGNATURE_METHODS = ("electronic", "wet-ink")

# -- the rules -----------------------------------------------------------------------------------

NUL = "\x00"
NUL_MESSAGE = "Must not contain NUL bytes."
UUID_SHAPE = re.compile(r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$")
EMAIL = re.compile(r"^[^@\s\x00]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
EMAIL_MAX = 254
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
EMAIL_MESSAGE = "Not an email address."
PHONE_MESSAGE = "Use E.164, e.g. +15555550100."


class Whole(validate.Regexp):
    """``validate.Regexp`` over the whole value: ``$`` never lets a trailing newline through.

    The pattern stays as written, so the OpenAPI document shows it to clients.
    """

    def __call__(self, value: str) -> str:
        if self.regex.fullmatch(value) is None:
            raise ValidationError(self._format_error(value))
        return value


def _no_nul(value: str) -> None:
    if NUL in value:
        raise ValidationError(NUL_MESSAGE)


def is_email(value: str) -> bool:
    """Whether ``value`` is an email address by the network's one rule (name@host.tld, ≤ 254)."""
    return len(value) <= EMAIL_MAX and EMAIL.fullmatch(value) is not None


def is_phone(value: str) -> bool:
    """Whether ``value`` is an E.164 phone number (``+15555550100``)."""
    return E164.fullmatch(value) is not None


def nul_paths(data: Any, prefix: str = "") -> list[str]:
    """The dotted paths of the strings (values or keys) in ``data`` that hold a NUL byte.

    PostgreSQL refuses NUL in text, so such a value must be turned away as a client error before
    it gets near a database.
    """
    if isinstance(data, str):
        return [prefix or "_schema"] if NUL in data else []
    if isinstance(data, Mapping):
        found = []
        for key, value in data.items():
            if isinstance(key, str) and NUL in key:  # named by where it stands, never echoed
                found.append(prefix or "_schema")
                continue
            found += nul_paths(value, f"{prefix}.{key}" if prefix else str(key))
        return found
    if isinstance(data, list | tuple):
        return [path for i, item in enumerate(data)
                for path in nul_paths(item, f"{prefix}.{i}" if prefix else str(i))]
    return []


# -- field builders --------------------------------------------------------------------------------

def identifier(**kwargs: Any) -> fields.String:
    """An opaque id another part of the network handed out (an agency or mentor id): 1–64 characters."""
    return fields.String(validate=[validate.Length(min=1, max=64), _no_nul], **kwargs)


def uuid_id(**kwargs: Any) -> fields.String:
    """An id the API hands out as a UUID (participants, consents): at most 36 characters, UUID-shaped."""
    return fields.String(validate=[validate.Length(max=36),
                                   Whole(UUID_SHAPE, error="Not an id of this network.")],
                         **kwargs)


def one_of(values: tuple[str, ...], **kwargs: Any) -> fields.String:
    """A string that must be one of ``values`` (a vocabulary above)."""
    return fields.String(validate=validate.OneOf(values), **kwargs)


def many_of(values: tuple[str, ...], **kwargs: Any) -> fields.List:
    """A list whose items are each one of ``values``."""
    return fields.List(one_of(values), **kwargs)


def text(max_length: int, **kwargs: Any) -> fields.String:
    """Free text a person writes: not blank, no NUL bytes, at most ``max_length`` characters."""
    return fields.String(validate=[validate.Length(min=1, max=max_length), _no_nul,
                                   validate.Regexp(r"^\s*\S", error="Must not be blank.")], **kwargs)


def email(**kwargs: Any) -> fields.String:
    """An email address by ``is_email``."""
    return fields.String(validate=[validate.Length(max=EMAIL_MAX),
                                   Whole(EMAIL, error=EMAIL_MESSAGE)], **kwargs)


def phone(**kwargs: Any) -> fields.String:
    """A phone number in E.164 form."""
    return fields.String(validate=Whole(E164, error=PHONE_MESSAGE), **kwargs)


def language(**kwargs: Any) -> fields.String:
    """A BCP 47 shaped language tag ("es", "en-US"), at most 35 characters."""
    return fields.String(validate=[validate.Length(max=35),
                                   Whole(LANGUAGE_TAG, error="Not a language tag.")], **kwargs)


def languages(**kwargs: Any) -> fields.List:
    """Language tags, at least one and at most 20."""
    return fields.List(language(), validate=validate.Length(min=1, max=20), **kwargs)


def slots(at_least: int = 0, **kwargs: Any) -> fields.List:
    """Week slots such as "mon-evening" (``{mon..sun}-{morning,afternoon,evening,night}``)."""
    return many_of(SLOTS, validate=validate.Length(min=at_least, max=len(SLOTS)), **kwargs)


def lived_experience(**kwargs: Any) -> fields.List:
    """Codes of lived experience (``LIVED_EXPERIENCE``, e.g. "opioids"), at most 20.

    Free text is refused: the error lists the allowed codes.
    """
    return many_of(LIVED_EXPERIENCE, validate=validate.Length(max=20), **kwargs)


def lived_experience_codes(values: Any) -> list[str]:
    """Stored lived experience as codes: codes stay, legacy words map through
    ``LEGACY_LIVED_EXPERIENCE``, anything else is dropped. Order kept, duplicates removed."""
    codes: list[str] = []
    for value in values or ():
        word = str(value).strip().lower()
        code = word if word in LIVED_EXPERIENCE else LEGACY_LIVED_EXPERIENCE.get(word)
        if code is not None and code not in codes:
            codes.append(code)
    return codes


def status_reason(**kwargs: Any) -> fields.String:
    """A reason code from ``STATUS_REASONS``."""
    return one_of(STATUS_REASONS, **kwargs)


class PointSchema(Schema):
    """A point: ``lat`` and ``lon`` together, even inside a partial (PATCH) load."""

    class Meta:
        unknown = RAISE

    lat = fields.Float(required=True, validate=validate.Range(-90, 90))
    lon = fields.Float(required=True, validate=validate.Range(-180, 180))

    @validates_schema
    def _both_coordinates(self, data: dict, **kwargs: object) -> None:
        # A partial load lifts ``required``; a point with one coordinate is still no point.
        missing = {name: ["Give lat and lon together."] for name in ("lat", "lon") if name not in data}
        if missing:
            raise ValidationError(missing)


def location(**kwargs: Any) -> fields.Nested:
    """A location: a ``PointSchema``."""
    return fields.Nested(PointSchema, **kwargs)


def page(**kwargs: Any) -> fields.String:
    """The ``page`` query parameter: the ``next_page`` cursor of the previous page, opaque."""
    return fields.String(validate=[validate.Length(min=1, max=500), _no_nul],
                         metadata={"description": "the next_page value of the previous page"}, **kwargs)


def next_page() -> fields.String:
    """A page's ``next_page``: the cursor of the page after it, null on the last."""
    return fields.String(allow_none=True,
                         metadata={"description": "opaque cursor for the next page; null on the last"})


class Timestamp(fields.AwareDateTime):
    """UTC ISO-8601; on dump, a string a service already formatted passes through."""

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> Any:
        if isinstance(value, str):
            return value
        return super()._serialize(value, attr, obj, **kwargs)


class CalendarDate(fields.Date):
    """A date ("2027-06-30"); on dump, a string passes through."""

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> Any:
        if isinstance(value, str):
            return value
        return super()._serialize(value, attr, obj, **kwargs)
