"""The console's HTTP plumbing: its entrypoint on the gateway's web server, the security headers
and cookies of every page, and the bridge that runs the gateway's own operations for a page.

``Operations.call("list_matches", ...)`` builds the request the API would receive (the person's
session token as its bearer token) and calls the gateway's route method itself, so a page passes
the same authentication, role check, validation, rate limits and object checks as an API client.
"""

from __future__ import annotations

import json
import logging
from functools import partial
from typing import Any

import eventlet
from eventlet.event import Event
from nameko.web.handlers import HttpRequestHandler
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

from gateway.entrypoint import REQUEST_ID_HEADER, ApiRoute, render, request_id_of
from gateway.exceptions import ServiceUnavailable
from gateway.problems import EXPECTED_EXCEPTIONS, log_problem, problem_body
from gateway.routes import ROUTES_BY_OPERATION
from services.kit.rpc import REQUEST_ID

log = logging.getLogger(__name__)

SESSION_COOKIE = "rn_console_session"
CSRF_COOKIE = "rn_console_csrf"
LANGUAGE_COOKIE = "rn_console_lang"
COOKIE_PATH = "/console"
# No inline script or style anywhere: everything the page uses comes from /console/static.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


class Problem(Exception):
    """An operation answered with a problem: ``status``, ``code``, ``errors`` (field → messages)."""

    def __init__(self, body: dict[str, Any]) -> None:
        super().__init__(body.get("code"))
        self.body = body
        self.status: int = body["status"]
        self.code: str = body["code"]
        self.errors: dict[str, list[str]] = body.get("errors") or {}
        self.reason: str | None = body.get("reason")


def secure_headers(response: Response, *, private: bool = True) -> Response:
    """Every console answer: the CSP and its companions; ``no-store`` unless it is a static file."""
    for name, value in SECURITY_HEADERS.items():
        response.headers[name] = value
    if private:
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"
    return response


def over_https(request: Request) -> bool:
    """Whether the browser reached the console over https: directly, or through a proxy that
    ended TLS and says so (the header can only make a cookie stricter, never looser)."""
    forwarded = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    return request.scheme == "https" or forwarded == "https"


def set_cookie(response: Response, request: Request, name: str, value: str,
               max_age: int | None = None) -> None:
    """A console cookie: HttpOnly, SameSite=Strict, Secure when the page came over https."""
    response.set_cookie(name, value, max_age=max_age, path=COOKIE_PATH, httponly=True,
                        samesite="Strict", secure=over_https(request))


def clear_cookie(response: Response, request: Request, name: str) -> None:
    response.delete_cookie(name, path=COOKIE_PATH, httponly=True, samesite="Strict",
                           secure=over_https(request))


class Operations:
    """The gateway's operations as ``token``'s person (or anonymously) for one page."""

    def __init__(self, service: Any, token: str | None, request_id: str) -> None:
        self.service = service
        self.token = token
        self.request_id = request_id

    def call(self, operation: str, *args: str, body: dict[str, Any] | None = None,
             query: dict[str, Any] | None = None, idempotency_key: str | None = None) -> Any:
        """The operation's answer as the API would send it (JSON-shaped), or ``Problem``."""
        route = ROUTES_BY_OPERATION[operation]
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        environ = EnvironBuilder(
            method=route.method, path="/",
            query_string={k: v for k, v in (query or {}).items() if v not in (None, "")},
            data=json.dumps(body) if body is not None else None,
            content_type="application/json" if body is not None else None,
            headers=headers).get_environ()
        try:
            result = getattr(self.service, operation)(Request(environ), *args)
        except Exception as exc:  # noqa: BLE001 - every failure is a problem, as for the API
            problem = problem_body(exc)
            log_problem(exc, problem, self.request_id)
            raise Problem(problem) from None
        if isinstance(result, Response):
            data = result.get_data()
            # An error status with a body of its own (``/ready`` naming the services that are
            # down) is that operation's answer, not a problem.
            if result.status_code >= 400 and result.status_code not in dict(route.other_responses):
                raise Problem(json.loads(data))
            return json.loads(data) if data else None
        return json.loads(render(route, result))


class ConsoleRoute(ApiRoute):
    """A console page on the gateway's own web server (``@page("GET", "/console/...")``).

    Like the API's routes it runs in a worker carrying the request id and answers within the
    gateway's deadline; unlike them it answers HTML, and a failure is a plain error page.
    """

    def __init__(self, method: str, url: str, **kwargs: Any) -> None:
        self.route = None
        self.deadline = None
        HttpRequestHandler.__init__(self, method, url, expected_exceptions=EXPECTED_EXCEPTIONS,
                                    **kwargs)

    def handle_request(self, request: Request) -> Response:
        request.shallow = False
        request_id = request_id_of(request)
        request.console_request_id = request_id
        try:
            args, kwargs = self.get_entrypoint_parameters(request)
            self.check_signature(args, kwargs)
            done = Event()
            with eventlet.Timeout(self._deadline(), ServiceUnavailable("The page took too long.")):
                self.container.spawn_worker(self, args, kwargs, context_data={REQUEST_ID: request_id},
                                            handle_result=partial(self.handle_result, done))
                response = done.wait()
        except Exception as exc:  # noqa: BLE001 - a page that failed is an error page
            problem = problem_body(exc)
            log_problem(exc, problem, request_id)
            status = 503 if problem["status"] == 503 else 500
            response = Response(_FAILED_PAGE, status=status, mimetype="text/html")
        response.headers[REQUEST_ID_HEADER] = request_id
        return secure_headers(response, private=not request.path.startswith("/console/static/"))


_FAILED_PAGE = ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Console"
                "</title><link rel=\"stylesheet\" href=\"/console/static/console.css\"></head><body>"
                "<main><h1>Something went wrong</h1><p>The page could not be shown; please try again."
                "</p><p><a href=\"/console/\">Console home</a></p></main></body></html>")

page = ConsoleRoute.decorator
