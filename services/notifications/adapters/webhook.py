"""Signed webhook delivery over HTTP(S) with ``requests``."""

from __future__ import annotations

import time
from collections.abc import Callable

import requests

from services.notifications import signing
from services.notifications.adapters.pinned_http import Connector, DestinationRefused, pinned_session
from services.notifications.domain.outcome import DESTINATION_REFUSED, REDIRECT_REFUSED, SendOutcome

ID_HEADER = "X-Notification-Id"
TYPE_HEADER = "X-Notification-Type"
USER_AGENT = "RecoveryReferralNetwork-Webhooks/1"


class WebhookSender:
    """POSTs a message body to an agency's URL, signed with the agency's secret.

    ``timeout`` is (connect, read) seconds. Redirects are not followed: the signed
    request goes to the URL the agency registered, or not at all. The host's addresses
    are checked at every connection and the connection made to a checked one (see
    ``pinned_http``); ``connector`` decides that (by default: public addresses only).
    ``clock`` gives unix seconds for the signature's timestamp.
    """

    def __init__(
        self,
        timeout: float | tuple[float, float] = (3.05, 10.0),
        connector: Connector | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.timeout = timeout
        self.session = pinned_session(connector or Connector())
        self.clock = clock

    def send(self, url: str, secret: str, body: bytes, message_id: str,
             message_type: str = "", content_type: str = "application/json") -> SendOutcome:
        """Send ``body`` exactly as given (it is what the signature covers).

        Never raises for network trouble: connection errors and timeouts come back as
        retryable outcomes; a private destination (``destination_refused``) and a redirect
        (``redirect_refused``) as final ones. The outcome's detail holds only a status, an
        error class or one of those reason codes.
        """
        headers = {
            "Content-Type": content_type,
            "User-Agent": USER_AGENT,
            ID_HEADER: message_id,
            signing.SIGNATURE_HEADER: signing.sign(secret, body, int(self.clock())),
        }
        if message_type:
            headers[TYPE_HEADER] = message_type
        try:
            response = self.session.post(url, data=body, headers=headers,
                                         timeout=self.timeout, allow_redirects=False)
        except DestinationRefused:
            return SendOutcome.refused(DESTINATION_REFUSED)
        except requests.RequestException as error:
            return SendOutcome.unreachable(error)
        # The receiver's body is not kept: it is theirs, and may echo what we sent.
        response.close()
        if 300 <= response.status_code < 400:
            return SendOutcome.refused(REDIRECT_REFUSED, response.status_code)
        return SendOutcome.from_http_status(response.status_code)
