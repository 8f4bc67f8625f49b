"""References between resources: ``Type/id``, ``urn:uuid:...`` within a Bundle, ``#id`` to a
contained resource, and the ids of the network."""

from __future__ import annotations

import re
from typing import Any

from services.kit.errors import InvalidRequest

_LITERAL = re.compile(r"^(?:(?:https?://[^?#]*?/)?(?P<type>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9.-]{1,64}))$")
FHIR_ID = re.compile(r"^[A-Za-z0-9.-]{1,64}$")


def invalid(path: str, message: str) -> InvalidRequest:
    return InvalidRequest("Some elements are missing or invalid.", errors={path: [message]})


def ref(resource_type: str, resource_id: str, display: str | None = None) -> dict[str, Any]:
    found = {"reference": f"{resource_type}/{resource_id}"}
    if display:
        found["display"] = display
    return found


def target(reference: Any, expected: str | tuple[str, ...], path: str,
           local: dict[str, str] | None = None) -> str:
    """The id ``reference`` (a Reference) points at, of one of the ``expected`` types.

    ``local`` resolves ``urn:uuid:`` full URLs of the same Bundle to ids already made. Raises
    ``InvalidRequest`` naming ``path``.
    """
    expected = (expected,) if isinstance(expected, str) else expected
    if not isinstance(reference, dict) or not isinstance(reference.get("reference"), str):
        raise invalid(path, f"Reference a {' or '.join(expected)}.")
    text = reference["reference"].strip()
    if local is not None and text in local:
        return local[text]
    found = _LITERAL.match(text)
    if not found or found["type"] not in expected:
        raise invalid(path, f"Reference a {' or '.join(expected)} as '{expected[0]}/<id>'.")
    return found["id"]


def reference_type(reference: Any) -> str | None:
    if isinstance(reference, dict) and isinstance(reference.get("reference"), str):
        found = _LITERAL.match(reference["reference"].strip())
        return found["type"] if found else None
    return None


def parse_token(value: str) -> tuple[str | None, str]:
    """A FHIR token search value ``system|code``, ``|code`` or ``code``: ``(system, code)``;
    ``(None, code)`` means any system, ``("", code)`` no system."""
    if "|" in value:
        system, _, code = value.partition("|")
        return system, code
    return None, value


def search_reference(value: str, resource_type: str, param: str) -> str:
    """The id in a reference search value: ``Organization/<id>`` or ``<id>``."""
    text = value.strip()
    found = _LITERAL.match(text)
    if found:
        if found["type"] != resource_type:
            raise invalid(param, f"Search by {resource_type}.")
        return found["id"]
    if not FHIR_ID.match(text):
        raise invalid(param, f"Give a {resource_type} id or '{resource_type}/<id>'.")
    return text
