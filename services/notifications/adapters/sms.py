"""Text messages through Twilio's Messages API (or anything that speaks its shape).

``POST {base_url}/2010-04-01/Accounts/{account_sid}/Messages.json`` with form fields
``To``, ``From``, ``Body`` and HTTP basic auth (account sid, auth token); success
is ``201`` with a JSON body carrying the message ``sid``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import quote

from services.notifications.domain.outcome import SendOutcome

if TYPE_CHECKING:
    import requests


@dataclass(frozen=True)
class TwilioSettings:
    account_sid: str
    auth_token: str = field(repr=False)
    from_number: str  # the sending number, E.164
    base_url: str = "https://api.twilio.com"
    timeout: float | tuple[float, float] = (3.05, 10.0)


class TwilioSmsSender:
    def __init__(self, settings: TwilioSettings, session: requests.Session | None = None) -> None:
        self.settings = settings
        self._session = session

    @property
    def session(self) -> requests.Session:
        # Made, and requests (with urllib3, about 5 MB) imported, for the first text: engagement
        # texts participants now and then, and holds no HTTP client until it does.
        if self._session is None:
            import requests

            self._session = requests.Session()
        return self._session

    @property
    def messages_url(self) -> str:
        s = self.settings
        return f"{s.base_url.rstrip('/')}/2010-04-01/Accounts/{quote(s.account_sid, safe='')}/Messages.json"

    def send(self, to: str, body: str) -> SendOutcome:
        """Ask the provider to send ``body`` to ``to`` (E.164).

        Never raises for network trouble. The outcome's detail carries the message sid
        on success and the provider's numeric error code on failure, never its message
        text, which repeats the phone number.
        """
        import requests

        s = self.settings
        try:
            response = self.session.post(
                self.messages_url,
                data={"To": to, "From": s.from_number, "Body": body},
                auth=(s.account_sid, s.auth_token),
                timeout=s.timeout,
                allow_redirects=False,
            )
        except requests.RequestException as error:
            return SendOutcome.unreachable(error)
        payload = _json(response)
        if response.status_code in (200, 201):
            sid = payload.get("sid")
            return SendOutcome.sent(f"sid {sid}" if isinstance(sid, str) else "accepted",
                                    response.status_code)
        code = payload.get("code")
        detail = f"HTTP {response.status_code}"
        if isinstance(code, int):
            detail += f" (provider code {code})"
        return SendOutcome.from_http_status(response.status_code, detail)


def _json(response: requests.Response) -> dict:
    try:
        payload = response.json()
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}
