"""The shape of the load every HTTP benchmark offers, so the bare pipeline and the product
are driven identically, and how arrivals are matched to referrals."""

from __future__ import annotations

from typing import Any

RATES = (10, 25, 50, 100, 200, 400)
SMOKE_RATES = (25,)
FLAT_OUT_CLIENTS = 32


def plan(smoke: bool) -> dict[str, Any]:
    """Rates, seconds per run, repeats, flat-out clients, and how long to wait for stragglers."""
    if smoke:
        return {"rates": SMOKE_RATES, "seconds": 2.0, "repeats": 1, "clients": 8, "flat_seconds": 2.0,
                "drain_seconds": 15.0}
    return {"rates": RATES, "seconds": 8.0, "repeats": 3, "clients": FLAT_OUT_CLIENTS,
            "flat_seconds": 10.0, "drain_seconds": 60.0}


def referral_of_event(_kind: str, body: Any) -> str | None:
    """The referral a ``match.proposed`` event (product envelope or bare payload) is about."""
    payload = body.get("payload", body) if isinstance(body, dict) else {}
    return payload.get("referral_id")


def referral_of_webhook(_kind: str, body: Any) -> str | None:
    """The referral a coordinator's webhook about a proposed match is about."""
    if not isinstance(body, dict) or body.get("type") != "match.proposed":
        return None
    return (body.get("data") or {}).get("referral_id")
