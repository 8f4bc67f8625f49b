"""Read a request's JSON body and query string into validated data.

Sizes are checked before anything is parsed, and errors name what was wrong with the request,
never what it contained.
"""

from __future__ import annotations

import json
import re
from typing import Any

from marshmallow import Schema, ValidationError
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Request

from gateway.exceptions import MalformedBody, PayloadTooLarge
from services.kit.vocabulary import NUL_MESSAGE, nul_paths

MAX_BODY_BYTES = 64 * 1024  # a consent with every element is well under 4 KiB
MAX_NESTING = 32  # far deeper than any body the API defines

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")
_OPENING = frozenset(b"[{")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def nesting_depth(raw: bytes) -> int:
    """How deeply the arrays and objects in ``raw`` nest, counted without parsing or recursion:
    brackets inside JSON strings do not count. Never raises; bytes that are not JSON give a
    number all the same (the parser refuses them afterwards)."""
    depth = deepest = 0
    for match in _BRACKET.finditer(_STRING.sub(b'""', raw)):
        depth += 1 if match[0][0] in _OPENING else -1
        deepest = max(deepest, depth)
    return deepest


def parse_json(raw: bytes) -> dict[str, Any]:
    """A JSON object from ``raw``; an empty body is ``{}``.

    Raises ``MalformedBody`` for bytes that are not UTF-8 JSON (NaN and Infinity included), JSON
    nested more than ``MAX_NESTING`` deep (checked before parsing, which would otherwise run out
    of stack) or JSON that is not an object, and marshmallow's ``ValidationError`` (422, naming each field)
    when a text holds a NUL character: no store keeps one (PostgreSQL refuses it outright) and
    no name, reason or address needs one.
    """
    if not raw.strip():
        return {}
    if nesting_depth(raw) > MAX_NESTING:
        raise MalformedBody(f"The request body is nested too deeply (more than {MAX_NESTING} levels).")
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError):
        raise MalformedBody("The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise MalformedBody("The request body must be a JSON object.")
    paths = nul_paths(data)
    if paths:
        raise ValidationError({path: [NUL_MESSAGE] for path in paths})
    return data


def read_form(request: Request, max_bytes: int = MAX_BODY_BYTES):
    """The form fields of a form-encoded body (a provider's webhook, a participant's questionnaire);
    ``PayloadTooLarge`` above ``max_bytes``, declared or actual."""
    if request.content_length is not None and request.content_length > max_bytes:
        raise PayloadTooLarge(f"The request body must not exceed {max_bytes} bytes.")
    request.max_content_length = max_bytes
    request.max_form_memory_size = max_bytes
    try:
        return request.form
    except RequestEntityTooLarge:
        raise PayloadTooLarge(f"The request body must not exceed {max_bytes} bytes.") from None


def read_json(request: Request, max_bytes: int = MAX_BODY_BYTES) -> dict[str, Any]:
    """The request body as a JSON object.

    Raises ``PayloadTooLarge`` above ``max_bytes`` (declared or actual), ``MalformedBody`` for a
    body that is not JSON, is not an object, or is sent as another media type, and
    ``ValidationError`` for a NUL character in any of its texts (see ``parse_json``).
    """
    too_large = PayloadTooLarge(f"The request body must not exceed {max_bytes} bytes.")
    if request.content_length is not None and request.content_length > max_bytes:
        raise too_large
    # Also enforced while reading bodies that declare no length (chunked): the stream stops at
    # the limit without complaint, so read one byte more to tell "exactly full" from "too long".
    request.max_content_length = max_bytes + 1
    try:
        raw = request.get_data(cache=True)
    except RequestEntityTooLarge:
        raise too_large from None
    if len(raw) > max_bytes:
        raise too_large
    if raw.strip() and not request.is_json:
        raise MalformedBody("Send the body as application/json.")
    return parse_json(raw)


def load_body(request: Request, schema: Schema, max_bytes: int = MAX_BODY_BYTES) -> dict[str, Any]:
    """The body validated by ``schema``; raises as ``read_json``, or marshmallow's
    ``ValidationError`` with the field errors."""
    return schema.load(read_json(request, max_bytes))


def load_query(request: Request, schema: Schema) -> dict[str, Any]:
    """The query string validated by ``schema`` (one value per parameter)."""
    return schema.load(request.args.to_dict())
