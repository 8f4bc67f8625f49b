"""The consent service's own nameko dependency: the ledger keys."""

from __future__ import annotations

from nameko.extensions import DependencyProvider

from services.consent.ledger_keys import LedgerKeyPair, load_ledger_keys


class LedgerKeys(DependencyProvider):
    """``LEDGER_HMAC_KEY``, ``LEDGER_SIGNING_KEY`` and ``LEDGER_CHECKPOINT_EVERY`` from config.

    A missing or malformed key stops the service at start with a ``ConfigError`` naming it.
    """

    def setup(self) -> None:
        self.keys = load_ledger_keys(self.container.config)

    def get_dependency(self, worker_ctx) -> LedgerKeyPair:
        return self.keys
