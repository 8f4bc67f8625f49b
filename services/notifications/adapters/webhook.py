"""Signed webhook delivery over HTTP(S) with ``requests``."""

from __future__ import annotations

import time
from collections.abc import Callable

import requests

from services.notifications import signing
from services.notifications.domain.outcome import SendOutcome

ID_HEADER = "X-Notification-Id"
TYPE_HEADER = "X-Notification-Type"
USER_AGENT = "RecoveryReferralNetwork-Webhooks/1"


class WebhookSender:
    """POSTs a message body to an agency's URL, signed with the agency's secret.

    ``timeout`` is (connect, read) seconds. Redirects are not followed: the signed
    request goes to the URL the agency registered, or not at all. ``clock`` gives
    unix seconds for the signature's timestamp.
    """

    def __init__(
        self,
        timeout: float | tuple[float, float] = (3.05, 10.0),
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.timeout = timeout
        self.session = session or requests.Session()
        self.clock = clock

    def send(self, url: str, secret: str, body: bytes, message_id: str,
             message_type: str = "") -> SendOutcome:
        """Send ``body`` exactly as given (it is what the signature covers).

        Never raises for network trouble: connection errors and timeouts come back as
        retryable outcomes; the outcome's detail holds only a status or an error class.
        """
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            ID_HEADER: message_id,
            signing.SIGNATURE_HEADER: signing.sign(secret, body, int(self.clock())),
        }
        if message_type:
            headers[TYPE_HEADER] = message_type
        try:
            response = self.session.post(url, data=body, headers=headers,
                                         timeout=self.timeout, allow_redirects=False)
        except requests.RequestException as error:
            return SendOutcome.unreachable(error)
        # The receiver's body is not kept: it is theirs, and may echo what we sent.
        response.close()
        if 300 <= response.status_code < 400:
            return SendOutcome(False, f"HTTP {response.status_code} (redirects are not followed)",
                               False, response.status_code)
        return SendOutcome.from_http_status(response.status_code)
