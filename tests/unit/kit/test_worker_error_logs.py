"""A service's log of a failed RPC: one INFO line for the kit's expected errors, the traceback and
the gateway's request id for anything else (``services.kit.logs.WorkerErrorFilter``)."""

from __future__ import annotations

import logging
import sys

import pytest
from nameko.containers import ServiceContainer
from nameko.rpc import rpc
from nameko.testing.services import entrypoint_hook

from services.kit.errors import Conflict, NotFound, ServiceUnavailable
from services.kit.logs import PersonalDataFilter, WorkerErrorFilter, install_worker_error_filter
from services.kit.rpc import REQUEST_ID


class Referrals:
    name = "referrals"

    @rpc
    def get(self, referral_id):
        raise NotFound("No such referral.")

    @rpc
    def cancel(self, referral_id):
        raise Conflict("A completed referral cannot become cancelled.")

    @rpc
    def handoff(self, referral_id):
        raise ServiceUnavailable("The consent service did not answer in time.")

    @rpc
    def create(self, body):
        return body["participant"]["given_name"].upper()  # a bug for a body without a participant


@pytest.fixture
def call(caplog):
    install_worker_error_filter()
    container = ServiceContainer(Referrals, {"AMQP_URI": "memory://"})

    def call(method: str, *args):
        with caplog.at_level(logging.DEBUG, logger="nameko.containers"):
            with entrypoint_hook(container, method, context_data={REQUEST_ID: "req-42"}) as hook:
                return hook(*args)

    return call


def failures(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "nameko.containers" and r.levelno >= logging.INFO]


@pytest.mark.parametrize(("method", "error"), [("get", NotFound), ("cancel", Conflict)])
def test_an_expected_error_is_one_info_line_without_a_traceback(call, caplog, method, error):
    with pytest.raises(error):
        call(method, "r-1")
    [record] = failures(caplog)
    assert record.levelno == logging.INFO and not record.exc_info
    assert record.getMessage() == f"referrals.{method} answered {error.__name__} (request req-42)"


def test_a_service_that_cannot_answer_is_one_warning_line(call, caplog):
    with pytest.raises(ServiceUnavailable):
        call("handoff", "r-1")
    [record] = failures(caplog)
    assert record.levelno == logging.WARNING and not record.exc_info
    assert "req-42" in record.getMessage()


def test_an_unexpected_error_keeps_its_traceback_and_names_the_request_id(call, caplog):
    with pytest.raises(KeyError):
        call("create", {"reason": "Ana Ruiz, ana@example.org"})
    [record] = failures(caplog)
    assert record.levelno == logging.ERROR and record.exc_info
    assert record.getMessage() == "referrals.create failed: KeyError (request req-42)"
    assert "Ana" not in record.getMessage()


def test_records_other_than_worker_failures_pass_unchanged():
    record = logging.makeLogRecord({"name": "nameko.containers", "msg": "killing %s", "args": ("c",)})
    assert WorkerErrorFilter().filter(record) and record.getMessage() == "killing c"


def test_contact_details_in_a_traceback_are_masked():
    try:
        raise ValueError("could not reach ana@example.org")
    except ValueError:
        record = logging.makeLogRecord({"msg": "failed", "exc_info": sys.exc_info()})
    PersonalDataFilter().filter(record)
    assert "ana@example.org" not in record.exc_text and "ValueError" in record.exc_text
