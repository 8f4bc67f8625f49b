"""A local SMS provider that speaks Twilio's Messages API and signs the webhooks it sends.

Outbound: ``POST /2010-04-01/Accounts/{sid}/Messages.json`` with form ``To``, ``From``, ``Body``
and HTTP basic auth (account sid, auth token) answers 201 with the message ``sid``; a wrong
account or token answers 401, as Twilio does. Inbound: ``deliver`` posts a participant's text to
a webhook URL as Twilio would, form-encoded and signed with ``X-Twilio-Signature``.
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import requests

from gateway.twilio import compute_signature


@dataclass
class Sent:
    to: str
    sender: str
    body: str


@dataclass
class SmsProvider:
    account_sid: str = "ACengagement0001"
    auth_token: str = "provider-token-for-tests"
    number: str = "+15555550000"
    url: str = ""
    sent: list[Sent] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    def start(self) -> SmsProvider:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                expected_path = f"/2010-04-01/Accounts/{provider.account_sid}/Messages.json"
                if self.path != expected_path or not provider._authorized(self.headers.get("Authorization")):
                    self._answer(401, {"code": 20003, "message": "Authenticate"})
                    return
                provider.sent.append(Sent(form.get("To", ""), form.get("From", ""), form.get("Body", "")))
                self._answer(201, {"sid": f"SM{uuid.uuid4().hex}", "status": "queued"})

            def _answer(self, status: int, payload: dict[str, Any]) -> None:
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def _authorized(self, header: str | None) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return header == f"Basic {expected}"

    def to(self, number: str) -> list[str]:
        """The bodies sent to ``number`` so far, in order."""
        return [message.body for message in list(self.sent) if message.to == number]

    def deliver(self, webhook_url: str, sender: str, body: str, *, token: str | None = None,
                signature: str | None = None) -> requests.Response:
        """Post a participant's text to the webhook, signed with ``token`` (the provider's own by
        default) unless a ``signature`` is given."""
        form = {"MessageSid": f"SM{uuid.uuid4().hex}", "AccountSid": self.account_sid, "From": sender,
                "To": self.number, "Body": body, "NumMedia": "0"}
        if signature is None:
            signature = compute_signature(token or self.auth_token, webhook_url,
                                          {name: [value] for name, value in form.items()})
        return requests.post(webhook_url, data=form, headers={"X-Twilio-Signature": signature}, timeout=30)

    def settings(self) -> dict[str, str]:
        """The configuration that points a service at this provider."""
        return {"SMS_BASE_URL": self.url, "SMS_ACCOUNT_SID": self.account_sid,
                "SMS_AUTH_TOKEN": self.auth_token, "SMS_FROM_NUMBER": self.number}
