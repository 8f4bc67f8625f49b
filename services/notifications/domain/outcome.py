"""What one attempt at sending came to, in the same shape for every channel."""

from __future__ import annotations

from dataclasses import dataclass

# Request Timeout and Too Many Requests are the receiver asking to be tried later.
RETRYABLE_CLIENT_ERRORS = (408, 429)

# Reason codes of deliveries refused on our side; final, never retried.
DESTINATION_REFUSED = "destination_refused"  # the host is this machine or a private network
REDIRECT_REFUSED = "redirect_refused"  # the receiver answered 3xx; redirects are not followed


@dataclass(frozen=True)
class SendOutcome:
    """``detail`` is safe to log and show to the agency: never a secret, an address,
    a phone number or the message body."""

    ok: bool
    detail: str
    retryable: bool = False
    http_status: int | None = None

    @classmethod
    def sent(cls, detail: str = "sent", http_status: int | None = None) -> SendOutcome:
        return cls(True, detail, False, http_status)

    @classmethod
    def from_http_status(cls, status: int, detail: str | None = None) -> SendOutcome:
        """2xx is sent; 5xx, 408 and 429 may be retried; any other answer will not change."""
        if 200 <= status < 300:
            return cls.sent(detail or f"HTTP {status}", status)
        retryable = status >= 500 or status in RETRYABLE_CLIENT_ERRORS
        return cls(False, detail or f"HTTP {status}", retryable, status)

    @classmethod
    def refused(cls, reason: str, http_status: int | None = None) -> SendOutcome:
        """A final failure with a reason code (``DESTINATION_REFUSED``, ``REDIRECT_REFUSED``)."""
        return cls(False, reason, False, http_status)

    @classmethod
    def unreachable(cls, error: BaseException) -> SendOutcome:
        """A connection error or timeout: retryable. Only the exception's class is kept,
        since its message may repeat a URL with a token or a recipient's address."""
        return cls(False, f"connection failed ({type(error).__name__})", True)
