"""The consent service's own nameko dependencies: the ledger keys and its consent rules."""

from __future__ import annotations

from datetime import timedelta

from nameko.extensions import DependencyProvider

from services.consent.ledger_keys import LedgerKeyPair, load_ledger_keys
from services.kit.config import ConfigError

# A year: long enough for a course of treatment, short enough that a forgotten consent ends.
DEFAULT_END_OF_TREATMENT_DAYS = 365


class LedgerKeys(DependencyProvider):
    """``LEDGER_HMAC_KEY``, ``LEDGER_SIGNING_KEY`` and ``LEDGER_CHECKPOINT_EVERY`` from config.

    A missing or malformed key stops the service at start with a ``ConfigError`` naming it.
    """

    def setup(self) -> None:
        self.keys = load_ledger_keys(self.container.config)

    def get_dependency(self, worker_ctx) -> LedgerKeyPair:
        return self.keys


class EndOfTreatmentLifetime(DependencyProvider):
    """``END_OF_TREATMENT_MAX_DAYS`` from config: how long a consent that ends with treatment
    lasts at most (from its ``valid_from``) when nobody says treatment ended.

    A value that is not a positive whole number stops the service at start (``ConfigError``).
    """

    def setup(self) -> None:
        raw = self.container.config.get("END_OF_TREATMENT_MAX_DAYS", DEFAULT_END_OF_TREATMENT_DAYS)
        try:
            days = int(raw)
        except (TypeError, ValueError):
            raise ConfigError("END_OF_TREATMENT_MAX_DAYS must be a whole number of days") from None
        if days < 1:
            raise ConfigError("END_OF_TREATMENT_MAX_DAYS must be at least 1")
        self.lifetime = timedelta(days=days)

    def get_dependency(self, worker_ctx) -> timedelta:
        return self.lifetime
