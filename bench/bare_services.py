"""The bare pipeline: the product's topology with handlers that do nothing.

HTTP → ``bare_gateway`` → RPC → ``bare_intake`` → event ``requested`` → ``bare_matcher`` →
event ``proposed`` → ``bare_notifier`` → webhook POST. Each class runs as its own
``nameko run`` process (``bench/bare.yml``), like the product's services. No database, no
validation, no outbox: what is left is what nameko, RabbitMQ and HTTP cost on this machine.
"""

from __future__ import annotations

import json
import uuid

import requests
from nameko.events import EventDispatcher, event_handler
from nameko.extensions import DependencyProvider
from nameko.rpc import RpcProxy, rpc
from nameko.web.handlers import http
from werkzeug.wrappers import Request, Response


class BareGateway:
    name = "bare_gateway"
    intake = RpcProxy("bare_intake")

    @http("POST", "/v1/referrals")
    def create_referral(self, request: Request) -> Response:
        created = self.intake.create(json.loads(request.get_data(as_text=True)))
        return Response(json.dumps(created), status=201, mimetype="application/json")


class BareIntake:
    name = "bare_intake"
    dispatch = EventDispatcher()

    @rpc
    def create(self, request: dict) -> dict:
        referral_id = str(uuid.uuid4())
        self.dispatch("requested", {"referral_id": referral_id})
        return {"id": referral_id, "status": "requested"}


class BareMatcher:
    name = "bare_matcher"
    dispatch = EventDispatcher()

    @event_handler("bare_intake", "requested")
    def on_requested(self, payload: dict) -> None:
        self.dispatch("proposed", payload)


class Webhook(DependencyProvider):
    """One keep-alive HTTP session per process posting to config ``WEBHOOK_URL``."""

    def setup(self) -> None:
        self.url = self.container.config["WEBHOOK_URL"]
        self.session = requests.Session()

    def get_dependency(self, worker_ctx):
        return lambda body: self.session.post(self.url, data=json.dumps(body), timeout=10,
                                              headers={"Content-Type": "application/json"}).close()


class BareNotifier:
    name = "bare_notifier"
    webhook = Webhook()

    @event_handler("bare_matcher", "proposed")
    def on_proposed(self, payload: dict) -> None:
        self.webhook({"type": "match.proposed", "data": payload})
