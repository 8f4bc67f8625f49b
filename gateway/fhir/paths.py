"""Field errors of ``/v1`` requests renamed to the FHIR elements they came from."""

from __future__ import annotations

from collections.abc import Mapping

from marshmallow import ValidationError

from services.kit.errors import InvalidRequest
from services.kit.messages import field_errors

MISSING = "Missing data for required field."


def fhir_errors(errors: Mapping[str, list[str]], paths: Mapping[str, str],
                elements: Mapping[str, str] | None = None,
                reworded: Mapping[str, str] | None = None) -> dict[str, list[str]]:
    """``errors`` keyed by dotted ``/v1`` field names, re-keyed by the FHIRPath in ``paths`` of
    the longest matching prefix (list indexes after it become ``[n]``). A missing field named in
    ``elements`` says which element of the law is missing."""
    renamed: dict[str, list[str]] = {}
    for key, messages in errors.items():
        parts = key.split(".")
        for cut in range(len(parts), 0, -1):
            prefix = ".".join(parts[:cut])
            if prefix in paths:
                rest = [p for p in parts[cut:] if p.isdigit()]
                path = paths[prefix] + "".join(f"[{p}]" for p in rest[:1])
                break
        else:
            path = key
        texts = []
        for message in messages:
            if message == MISSING and elements and key in elements:
                message = f"Missing data for required field: {elements[key]}."
            message = (reworded or {}).get(message, message)
            texts.append(message)
        renamed.setdefault(path, []).extend(texts)
    return renamed


def load_as_fhir(schema, body: dict, paths: Mapping[str, str],
                 elements: Mapping[str, str] | None = None,
                 extra: Mapping[str, list[str]] | None = None,
                 reworded: Mapping[str, str] | None = None) -> dict:
    """``schema.load(body)``; raises ``InvalidRequest`` with every error (and ``extra``, already
    FHIR-named) keyed by FHIR element."""
    errors: dict[str, list[str]] = {}
    loaded: dict = {}
    try:
        loaded = schema.load(body)
    except ValidationError as exc:
        errors = fhir_errors(field_errors(exc.messages), paths, elements, reworded)
    for path, messages in (extra or {}).items():
        errors.setdefault(path, []).extend(messages)
    if errors:
        raise InvalidRequest("Some elements are missing or invalid.", errors=errors)
    return loaded


def rename_invalid(exc: InvalidRequest, paths: Mapping[str, str],
                   elements: Mapping[str, str] | None = None,
                   reworded: Mapping[str, str] | None = None) -> InvalidRequest:
    """A service's ``InvalidRequest`` with its field names turned into FHIR elements."""
    return InvalidRequest(exc.detail, errors=fhir_errors(field_errors(exc.errors), paths, elements,
                                                         reworded))
