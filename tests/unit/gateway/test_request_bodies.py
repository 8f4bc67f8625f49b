"""Request bodies are read within a size limit and must be JSON objects."""

from __future__ import annotations

import pytest
from marshmallow import ValidationError
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from gateway.bodies import MAX_NESTING, load_body, load_query, nesting_depth, parse_json, read_json
from gateway.exceptions import MalformedBody, PayloadTooLarge
from services.kit.vocabulary import NUL_MESSAGE
from services.referrals.schemas import ReferralCancelRequest, ReferralListQuery


def request(data: bytes | str = b"", content_type: str = "application/json",
            query: str = "") -> Request:
    return Request(EnvironBuilder(method="POST", path="/v1/referrals", data=data,
                                  content_type=content_type, query_string=query).get_environ())


def test_a_json_object_is_read():
    assert read_json(request('{"reason": "moved"}')) == {"reason": "moved"}
    assert read_json(request(b"")) == {}


@pytest.mark.parametrize("data", ['{"reason": ', "[1, 2]", '"text"', '{"n": NaN}', b"\xff\xfe"])
def test_anything_but_a_json_object_is_malformed(data):
    with pytest.raises(MalformedBody):
        read_json(request(data))


def test_another_media_type_is_malformed():
    with pytest.raises(MalformedBody):
        read_json(request("reason=moved", content_type="application/x-www-form-urlencoded"))


def test_a_body_over_the_limit_is_refused_before_parsing():
    with pytest.raises(PayloadTooLarge):
        read_json(request('{"reason": "' + "x" * 200 + '"}'), max_bytes=100)


def test_bodies_and_queries_are_validated_by_their_schemas():
    assert load_body(request('{"reason": "moved"}'), ReferralCancelRequest()) == {
        "reason": "moved", "reason_code": None}
    with pytest.raises(ValidationError):
        load_body(request('{"reason": "moved", "extra": 1}'), ReferralCancelRequest())
    assert load_query(request(query="status=on-hold&page=c2V2ZW4"), ReferralListQuery()) == {
        "status": "on-hold", "page": "c2V2ZW4"}


def test_a_chunked_body_over_the_limit_is_refused_while_reading():
    environ = EnvironBuilder(method="POST", data='{"reason": "' + "x" * 200 + '"}',
                             content_type="application/json").get_environ()
    del environ["CONTENT_LENGTH"]
    environ["HTTP_TRANSFER_ENCODING"] = "chunked"
    environ["wsgi.input_terminated"] = True
    with pytest.raises(PayloadTooLarge):
        read_json(Request(environ), max_bytes=100)


def test_a_nul_character_anywhere_in_a_body_is_refused_naming_the_field():
    body = '{"display_name": "M\\u0000", "languages": ["es", "e\\u0000n"], "location": {"lat": 1}}'
    with pytest.raises(ValidationError) as refused:
        read_json(request(body))
    assert refused.value.messages == {"display_name": [NUL_MESSAGE], "languages.1": [NUL_MESSAGE]}
    assert "\x00" not in str(refused.value.messages)
    with pytest.raises(ValidationError) as refused:
        read_json(request('{"x\\u0000": 1}'))
    assert refused.value.messages == {"_schema": [NUL_MESSAGE]}
    assert read_json(request('{"reason": "line\\nbreak \\u00e9"}')) == {"reason": "line\nbreak é"}


DEEP = 100_000


@pytest.mark.parametrize("data", [
    b"[" * DEEP + b"]" * DEEP,
    b'{"a":' * DEEP + b"1" + b"}" * DEEP,
    b'{"reason": ' + b"[" * 33 + b"]" * 33 + b"}",
    b"[" * DEEP,  # never closed: refused for its depth before the parser sees it
])
def test_a_body_nested_too_deeply_is_malformed_not_a_crash(data):
    with pytest.raises(MalformedBody, match="nested too deeply"):
        parse_json(data)


def test_nesting_up_to_the_limit_is_read():
    data = b'{"a": ' + b"[" * (MAX_NESTING - 1) + b"]" * (MAX_NESTING - 1) + b"}"
    assert nesting_depth(data) == MAX_NESTING
    value, depth = parse_json(data)["a"], 1
    while value:
        [value], depth = value, depth + 1
    assert (value, depth) == ([], MAX_NESTING - 1)


@pytest.mark.parametrize(("data", "depth"), [
    (b'{"reason": "[[[[{{{{"}', 1),                  # brackets inside a string do not count
    (b'{"reason": "quote \\" then [[[["}', 1),        # nor after an escaped quote
    (b'{"reason": "back\\\\", "x": [[1]]}', 3),       # an escaped backslash ends before the quote
    (b'[{"a": [1, {"b": []}]}, []]', 5),
    (b"", 0),
])
def test_depth_is_counted_outside_strings_only(data, depth):
    assert nesting_depth(data) == depth


def test_many_long_strings_do_not_trouble_the_count():
    data = b'{"a": "' + b"[" * 60_000 + b'"}'
    assert nesting_depth(data) == 1 and parse_json(data) == {"a": "[" * 60_000}
