"""``@api("operation")``: an HTTP route of the v1 table, answering JSON or problem+json.

The route's method, path, status and response schema come from ``gateway.routes``;
every exception becomes an RFC 9457 problem through ``gateway.problems`` — unknown
paths and wrong methods included, which werkzeug would otherwise answer in HTML.
"""

from __future__ import annotations

import json
from typing import Any

from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import WebServer, WsgiApp
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Request, Response

from gateway.problems import EXPECTED_EXCEPTIONS, problem_response
from gateway.routes import ROUTES_BY_OPERATION, Route


class _ProblemWsgiApp(WsgiApp):
    def __call__(self, environ, start_response):
        adapter = self.url_map.bind_to_environ(environ)
        try:
            provider, values = adapter.match()
        except HTTPException as exc:
            return problem_response(exc)(environ, start_response)
        request = Request(environ, shallow=True)
        request.path_values = values
        return provider.handle_request(request)(environ, start_response)


class ProblemWebServer(WebServer):
    def get_wsgi_app(self):
        return _ProblemWsgiApp(self)


class ApiRoute(HttpRequestHandler):
    server = ProblemWebServer()

    def __init__(self, operation: str, **kwargs: Any) -> None:
        self.route: Route = ROUTES_BY_OPERATION[operation]
        super().__init__(self.route.method, self.route.url_rule,
                         expected_exceptions=EXPECTED_EXCEPTIONS, **kwargs)

    def response_from_result(self, result: Any) -> Response:
        if isinstance(result, Response):
            return result
        return json_response(self.route, result)

    def response_from_exception(self, exc: BaseException) -> Response:
        return problem_response(exc)


def render(route: Route, result: Any) -> str:
    """The JSON text of ``result`` dumped through the route's response schema."""
    body = route.response().dump(result) if route.response is not None else result
    return json.dumps(body)


def json_response(route: Route, result: Any, status: int | None = None, **headers: str) -> Response:
    return Response(render(route, result), status=status or route.status,
                    mimetype="application/json", headers=headers)


api = ApiRoute.decorator
