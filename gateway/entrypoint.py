"""``@api("operation")``: an HTTP route of the v1 table, answering JSON or problem+json.

The route's method, path, status and response schema come from ``gateway.routes``;
every exception becomes an RFC 9457 problem through ``gateway.problems`` — unknown
paths and wrong methods included, which werkzeug would otherwise answer in HTML.

The access log names each request's method and path, never its query string.

Every request has a request id: the caller's ``X-Request-Id`` when it is well formed, else a new
one. It is answered in the ``X-Request-Id`` header (and a problem's ``request_id``), named in the
gateway's log line for the request's failure, and passed to the services in the RPC context.
"""

from __future__ import annotations

import json
import re
import uuid
from functools import partial
from typing import Any

import eventlet
from eventlet.event import Event
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import HttpOnlyProtocol, WebServer, WsgiApp
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Request, Response

from gateway.exceptions import ServiceUnavailable
from gateway.problems import (
    EXPECTED_EXCEPTIONS,
    RETRY_AFTER_SECONDS,
    log_problem,
    problem_body,
    problem_response,
)
from gateway.routes import ROUTES_BY_OPERATION, Route
from services.kit.messages import shared
from services.kit.rpc import REQUEST_ID

REQUEST_ID_HEADER = "X-Request-Id"
FHIR_JSON = "application/fhir+json"
# The longest a request may take before it is answered 503 (config GATEWAY_DEADLINE_SECONDS).
DEFAULT_DEADLINE_SECONDS = 10.0
_WELL_FORMED_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")


def request_id_of(request: Request) -> str:
    """The caller's ``X-Request-Id`` if it is a short token of safe characters, else a new id."""
    offered = request.headers.get(REQUEST_ID_HEADER, "")
    return offered if _WELL_FORMED_ID.fullmatch(offered) else uuid.uuid4().hex


class _ProblemWsgiApp(WsgiApp):
    def __call__(self, environ, start_response):
        adapter = self.url_map.bind_to_environ(environ)
        try:
            provider, values = adapter.match()
        except HTTPException as exc:
            request_id = request_id_of(Request(environ, shallow=True))
            path = environ.get("PATH_INFO", "")
            fhir = path == "/fhir" or path.startswith("/fhir/")
            response = (fhir_error_response if fhir else problem_response)(exc, request_id)
            response.headers[REQUEST_ID_HEADER] = request_id
            return response(environ, start_response)
        request = Request(environ, shallow=True)
        request.path_values = values
        return provider.handle_request(request)(environ, start_response)


class _AccessLogProtocol(HttpOnlyProtocol):
    """Logs each request as method, path and version: never its query string, which may carry
    what must not rest in a log (a participant id searched for, a token a client misplaced)."""

    def parse_request(self) -> bool:
        parsed = super().parse_request()
        if parsed:
            self.requestline = request_line_without_query(self.requestline)
        return parsed


def request_line_without_query(line: str) -> str:
    """``GET /v1/audit/ledger?participant=... HTTP/1.1`` → ``GET /v1/audit/ledger HTTP/1.1``."""
    parts = line.split(" ")
    if len(parts) >= 2:
        parts[1] = parts[1].split("?", 1)[0]
    return " ".join(parts)


class ProblemWebServer(WebServer):
    def get_wsgi_app(self):
        return _ProblemWsgiApp(self)

    def get_wsgi_server(self, sock, wsgi_app, protocol=_AccessLogProtocol, debug=False):
        return super().get_wsgi_server(sock, wsgi_app, protocol=protocol, debug=debug)


class ApiRoute(HttpRequestHandler):
    server = ProblemWebServer()
    # Failures are logged once, by ``problem_response`` with the request id (see services.kit.logs).
    logs_own_errors = True

    def __init__(self, operation: str, *, deadline: float | None = None, **kwargs: Any) -> None:
        self.route: Route = ROUTES_BY_OPERATION[operation]
        self.deadline = deadline  # None: GATEWAY_DEADLINE_SECONDS
        super().__init__(self.route.method, self.route.url_rule,
                         expected_exceptions=EXPECTED_EXCEPTIONS, **kwargs)

    def handle_request(self, request: Request) -> Response:
        """Run the route in a worker whose context carries the request id; answer with that id.

        A request not finished within the deadline is answered 503 then (the worker carries on
        and its own bounds end it): whatever a database or service does, no caller hangs.
        """
        request.shallow = False
        request_id = request_id_of(request)
        try:
            args, kwargs = self.get_entrypoint_parameters(request)
            self.check_signature(args, kwargs)
            done = Event()
            with eventlet.Timeout(self._deadline(), ServiceUnavailable(
                    "The request did not finish in time; retry later.")):
                self.container.spawn_worker(self, args, kwargs, context_data={REQUEST_ID: request_id},
                                            handle_result=partial(self.handle_result, done))
                result = done.wait()
            response = self.response_from_result(result)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a problem response
            response = self.error_response(exc, request_id)
        response.headers[REQUEST_ID_HEADER] = request_id
        return response

    def error_response(self, exc: BaseException, request_id: str) -> Response:
        """How this route answers a failure: problem+json (an OperationOutcome under /fhir)."""
        return problem_response(exc, request_id)

    def _deadline(self) -> float:
        if self.deadline is not None:
            return self.deadline
        return float(self.container.config.get("GATEWAY_DEADLINE_SECONDS", DEFAULT_DEADLINE_SECONDS))

    def response_from_result(self, result: Any) -> Response:
        if isinstance(result, Response):
            return result
        return json_response(self.route, result)

    def response_from_exception(self, exc: BaseException) -> Response:
        return problem_response(exc)


def render(route: Route, result: Any) -> str:
    """The JSON text of ``result`` dumped through the route's response schema."""
    body = shared(route.response).dump(result) if route.response is not None else result
    return json.dumps(body)


def json_response(route: Route, result: Any, status: int | None = None, **headers: str) -> Response:
    return Response(render(route, result), status=status or route.status,
                    mimetype="application/json", headers=headers)


def fhir_error_response(exc: BaseException, request_id: str | None = None) -> Response:
    """``exc`` as a FHIR OperationOutcome, with the status and code problem+json would carry."""
    from gateway.fhir.outcome import operation_outcome

    log_problem(exc, problem_body(exc), request_id)
    status, outcome = operation_outcome(exc)
    response = Response(json.dumps(outcome), status=status, mimetype=FHIR_JSON)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="referral-network"'
    if status == 503:
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


api = ApiRoute.decorator
