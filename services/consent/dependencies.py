"""The consent service's own nameko dependencies: the ledger keys (and the checkpoint at
shutdown), its consent rules and the background ledger verifications."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from nameko.extensions import DependencyProvider
from sqlalchemy.orm import Session

from services.consent.adapters import checkpoints
from services.consent.handlers.verification import VerificationRules
from services.consent.ledger_keys import LedgerKeyPair, load_ledger_keys
from services.kit.config import ConfigError
from services.kit.db import make_engine

log = logging.getLogger(__name__)

# A year: long enough for a course of treatment, short enough that a forgotten consent ends.
DEFAULT_END_OF_TREATMENT_DAYS = 365


class LedgerKeys(DependencyProvider):
    """``LEDGER_HMAC_KEY``, ``LEDGER_SIGNING_KEY``, ``LEDGER_CHECKPOINT_EVERY`` and
    ``LEDGER_CHECKPOINT_LOG`` from config.

    A missing or malformed key stops the service at start with a ``ConfigError`` naming it. On a
    graceful stop (after the last worker finished) the ledger's head is signed, so rows written
    since the last checkpoint are covered in the checkpoint log too.
    """

    def setup(self) -> None:
        self.keys = load_ledger_keys(self.container.config)

    def get_dependency(self, worker_ctx) -> LedgerKeyPair:
        return self.keys

    def stop(self) -> None:
        try:
            signed = checkpoint_at_shutdown(self.container.config["DATABASE_URL"], self.keys)
        except Exception as exc:  # noqa: BLE001 - stopping must go on; the next start signs again
            log.error("ledger checkpoint at shutdown failed: %s", type(exc).__name__)
            return
        if signed is not None:
            log.info("ledger checkpoint at shutdown: %d rows", signed)


def checkpoint_at_shutdown(url: str, keys: LedgerKeyPair) -> int | None:
    """Sign the ledger's head on a connection of its own (the workers' pool is closing too);
    the rows the new checkpoint covers, or None when one covered them already."""
    engine = make_engine(url, pool_size=1)
    try:
        with Session(engine) as session:
            signed = checkpoints.checkpoint_now(session, keys, datetime.now(UTC))
            session.commit()
    finally:
        engine.dispose()
    return None if signed is None else signed.count


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


class Verifications(DependencyProvider):
    """Runs ledger verifications in the background (``handlers.verification``):
    ``LEDGER_VERIFY_CHUNK_ROWS`` rows a chunk (default 1000), ``LEDGER_VERIFY_PAUSE_SECONDS``
    between chunks (default 0.05) and ``LEDGER_VERIFY_STALE_SECONDS`` (default 60) without
    progress before a running one counts as abandoned."""

    def setup(self) -> None:
        config = self.container.config
        try:
            self.rules = VerificationRules(
                chunk_rows=int(config.get("LEDGER_VERIFY_CHUNK_ROWS", 1000)),
                pause_seconds=float(config.get("LEDGER_VERIFY_PAUSE_SECONDS", 0.05)),
                stale_after=timedelta(seconds=float(config.get("LEDGER_VERIFY_STALE_SECONDS", 60))))
        except (TypeError, ValueError):
            raise ConfigError("LEDGER_VERIFY_* settings must be numbers") from None
        if self.rules.chunk_rows < 1 or self.rules.pause_seconds < 0:
            raise ConfigError("LEDGER_VERIFY_CHUNK_ROWS must be at least 1, the pause not negative")

    def get_dependency(self, worker_ctx) -> Verifications:
        return self

    def spawn(self, run: Callable[[], object]) -> None:
        """Run ``run`` in a greenthread of this container, outliving the worker that started it."""
        self.container.spawn_managed_thread(run, identifier="ledger verification")
