"""Text messages to a local server that speaks Twilio's Messages API."""

import base64
import json
from urllib.parse import parse_qs

import pytest
from notification_builders import event, match_payload

from services.notifications.adapters.sms import TwilioSettings, TwilioSmsSender
from services.notifications.domain.message import MATCH_PROPOSED, message_for
from services.notifications.domain.rendering import Renderer

SID, TOKEN = "AC0123456789abcdef0123456789abcdef", "twilio-auth-token"


def twilio(request):
    """Answers like Twilio: 201 with the new message, 401 without the right basic auth."""
    expected = "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    if request.headers.get("Authorization") != expected:
        return 401, {"Content-Type": "application/json"}, b'{"code": 20003, "status": 401}'
    form = parse_qs(request.body.decode())
    reply = {"sid": "SM" + "1" * 32, "status": "queued", "to": form["To"][0]}
    return 201, {"Content-Type": "application/json"}, json.dumps(reply).encode()


def sender_for(server, token=TOKEN):
    return TwilioSmsSender(TwilioSettings(SID, token, "+15555550199", base_url=server.url))


def test_sms_reaches_the_provider_in_its_api_shape(local_http):
    server = local_http(twilio)
    message = message_for(event("match.proposed", match_payload(urgency="urgent")),
                          MATCH_PROPOSED)
    text = Renderer("https://network.example").sms(message, "es")

    outcome = sender_for(server).send("+15555550100", text)

    assert outcome.ok and outcome.http_status == 201
    assert outcome.detail == "sid SM" + "1" * 32
    [request] = server.received
    assert request.path == f"/2010-04-01/Accounts/{SID}/Messages.json"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    form = parse_qs(request.body.decode())
    assert form == {"To": ["+15555550100"], "From": ["+15555550199"], "Body": [text]}
    assert text.startswith("URGENTE: Propuesta de mentor para la derivación rf-1")
    assert len(text) <= 160


def test_wrong_credentials_are_final_and_not_echoed(local_http):
    outcome = sender_for(local_http(twilio), token="wrong-token").send("+15555550100", "hi")
    assert not outcome.ok and not outcome.retryable
    assert outcome.detail == "HTTP 401 (provider code 20003)"


def test_provider_error_keeps_its_code_but_not_its_text_with_the_number(local_http):
    reply = {"code": 21211, "message": "The 'To' number +15555550100 is not a valid phone number.",
             "status": 400}
    server = local_http(lambda _r: (400, {}, json.dumps(reply).encode()))
    outcome = sender_for(server).send("+15555550100", "private body text")
    assert not outcome.ok and not outcome.retryable
    assert outcome.detail == "HTTP 400 (provider code 21211)"
    assert "5555550100" not in outcome.detail and "private" not in outcome.detail


@pytest.mark.parametrize("status", [429, 500, 503])
def test_throttling_and_provider_outages_are_retryable(local_http, status):
    server = local_http(lambda _r: (status, {}, b"not json"))
    outcome = sender_for(server).send("+15555550100", "hi")
    assert not outcome.ok and outcome.retryable and outcome.http_status == status
