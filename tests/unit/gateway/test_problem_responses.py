"""Every kind of error becomes an RFC 9457 problem with the right status and code, and no leaks."""

from __future__ import annotations

import json
import logging

import amqp.exceptions
import kombu.exceptions
import pytest
import werkzeug.exceptions
from marshmallow import ValidationError
from nameko.exceptions import RemoteError, RpcTimeout, UnknownService, deserialize, serialize

from gateway.exceptions import MalformedBody, PayloadTooLarge, ServiceUnavailable, Unauthenticated
from gateway.problems import EXPECTED_EXCEPTIONS, lookup, problem_response
from services.consent.schemas import ConsentCreateRequest
from services.kit.errors import Conflict, ConsentRequired, Forbidden, InvalidRequest, NotFound
from services.kit.messages import field_errors as flatten_errors


def rendered(exc: BaseException) -> tuple[int, dict, object]:
    response = problem_response(exc)
    assert response.mimetype == "application/problem+json"
    return response.status_code, json.loads(response.get_data(as_text=True)), response.headers


@pytest.mark.parametrize(("exc", "status", "code"), [
    (InvalidRequest("Invalid reason.", errors={"reason": ["Required."]}), 422, "invalid_request"),
    (NotFound("No such referral."), 404, "not_found"),
    (Forbidden("Not for this agency."), 403, "forbidden"),
    (ConsentRequired("No consent covers this.", reason="expired"), 403, "consent_required"),
    (Conflict("A completed referral cannot become cancelled."), 409, "conflict"),
    (Unauthenticated("The API key is not valid."), 401, "unauthorized"),
    (MalformedBody("The request body is not valid JSON."), 400, "invalid_request"),
    (PayloadTooLarge("Too large."), 413, "payload_too_large"),
    (ServiceUnavailable("referrals is down"), 503, "service_unavailable"),
    (werkzeug.exceptions.BadRequest(), 400, "invalid_request"),
    (werkzeug.exceptions.RequestEntityTooLarge(), 413, "payload_too_large"),
    (werkzeug.exceptions.NotFound(), 404, "not_found"),
    (RpcTimeout(5), 503, "service_unavailable"),
    (UnknownService("referrals"), 503, "service_unavailable"),
    (ConnectionRefusedError(111, "Connection refused"), 503, "service_unavailable"),
    (amqp.exceptions.RecoverableConnectionError("gone"), 503, "service_unavailable"),
    (kombu.exceptions.OperationalError("broker down"), 503, "service_unavailable"),
    (TimeoutError(), 503, "service_unavailable"),
    (RemoteError("KeyError", "'Ana Ruiz'"), 500, "internal"),
    (ValueError("ssn 123-45-6789"), 500, "internal"),
])
def test_each_error_kind_has_its_status_and_code(exc, status, code):
    got_status, body, _ = rendered(exc)
    assert (got_status, body["status"], body["code"]) == (status, status, code)
    assert set(body) >= {"type", "title", "status", "detail", "code"}
    assert body["type"].endswith(code)
    assert ("errors" in body) == (status == 422)


def test_a_services_own_subclass_maps_through_its_ancestor():
    class MentorAtCapacity(Conflict):
        pass

    status, body, _ = rendered(MentorAtCapacity("The mentor has no capacity left."))
    assert (status, body["code"], body["detail"]) == (409, "conflict",
                                                      "The mentor has no capacity left.")
    assert lookup(MentorAtCapacity()) is lookup(Conflict())


def test_kit_errors_keep_their_meaning_after_crossing_rpc():
    crossed = deserialize(serialize(ConsentRequired("No consent covers this.", reason="revoked")))
    assert type(crossed) is ConsentRequired
    status, body, _ = rendered(crossed)
    assert (status, body["code"], body["detail"]) == (403, "consent_required",
                                                      "No consent covers this.")
    assert body["reason"] == "revoked"


@pytest.mark.parametrize("reason", [None, "revoked_for_recipient", "terms_altered", "Ana Ruiz"])
def test_a_refusal_never_carries_a_reason_outside_the_published_codes(reason):
    _, body, _ = rendered(ConsentRequired("No consent covers this.", reason=reason))

    assert body["reason"] == "consent_not_found"


def test_unexpected_remote_errors_say_nothing_of_what_happened(caplog):
    crossed = deserialize(serialize(KeyError("Ana Ruiz, born 1990-04-02")))
    assert isinstance(crossed, RemoteError)
    with caplog.at_level(logging.ERROR):
        status, body, _ = rendered(crossed)
    assert status == 500 and body["code"] == "internal"
    assert "Ana" not in json.dumps(body) and "KeyError" not in json.dumps(body)
    assert "Ana" not in caplog.text and "KeyError" in caplog.text


def test_validation_errors_list_fields_without_echoing_values():
    body_sent = {"participant": {"given_name": "Ana", "family_name": "Ruiz",
                                 "birth_date": "not-a-date-Ana", "email": "ana@@example"},
                 "purposes": ["gossip"], "shoe_size": 44}
    with pytest.raises(ValidationError) as caught:
        ConsentCreateRequest().load(body_sent)
    status, body, _ = rendered(caught.value)
    assert status == 422 and body["code"] == "invalid_request"
    errors = body["errors"]
    assert {"participant.birth_date", "participant.email", "purposes.0", "shoe_size",
            "signature", "valid_until"} <= set(errors)
    assert all(isinstance(m, str) for messages in errors.values() for m in messages)
    assert "Ana" not in json.dumps(body) and "gossip" not in json.dumps(body)


def test_domain_field_errors_render_as_422_errors():
    status, body, _ = rendered(InvalidRequest("Invalid reason.",
                                              errors={"reason": ["Say why."]}))
    assert (status, body["errors"]) == (422, {"reason": ["Say why."]})


def test_401_asks_for_a_bearer_token_and_503_suggests_a_retry():
    assert rendered(Unauthenticated("x"))[2]["WWW-Authenticate"].startswith("Bearer")
    assert rendered(RpcTimeout())[2]["Retry-After"]


def test_flatten_errors_turns_nesting_into_dotted_paths():
    messages = {"needs": {"location": {"lat": ["Too far north."]}},
                "explanation": {0: {"factor": ["Missing data for required field."]}},
                "_schema": ["Give at least one channel."]}
    assert flatten_errors(messages) == {
        "needs.location.lat": ["Too far north."],
        "explanation.0.factor": ["Missing data for required field."],
        "_schema": ["Give at least one channel."],
    }
    assert flatten_errors(["Invalid input."]) == {"_schema": ["Invalid input."]}


def test_only_errors_that_are_not_bugs_count_as_expected():
    assert Conflict in EXPECTED_EXCEPTIONS and ValidationError in EXPECTED_EXCEPTIONS
    assert RpcTimeout in EXPECTED_EXCEPTIONS
    assert RemoteError not in EXPECTED_EXCEPTIONS and Exception not in EXPECTED_EXCEPTIONS
