"""The consent service: Part 2 consents, the authorize decision point and the audit ledger.

Run with ``nameko run --config services/consent/config.yml services.consent.service``.
Each entrypoint parses, calls one handler and returns its JSON-ready answer (docs/rpc.md).
"""

from __future__ import annotations

from typing import Any

import eventlet
from nameko.rpc import rpc

from services.consent import handlers
from services.consent import schemas as s
from services.consent.adapters.orm import metadata
from services.consent.dependencies import LedgerKeys
from services.kit.dependencies import Clock, Database
from services.kit.encrypted import FieldKeys
from services.kit.entrypoints import every
from services.kit.messages import load, load_caller


class ConsentService:
    name = "consent"

    db = Database(metadata)
    clock = Clock()
    keys = FieldKeys()
    ledger_keys = LedgerKeys()

    @rpc
    def ping(self) -> str:
        return "ok"

    # -- consents ---------------------------------------------------------------------------

    @rpc
    def grant(self, caller: dict, request: dict) -> dict[str, Any]:
        """The new consent, held by the caller's agency; ``InvalidRequest`` names what is missing."""
        return handlers.grant(load_caller(caller), request, self.db, self.keys, self.ledger_keys,
                              self.clock())

    @rpc
    def get(self, caller: dict, consent_id: str) -> dict[str, Any]:
        consent_id = load(s.IdSchema(), {"id": consent_id})["id"]
        return handlers.get(load_caller(caller), consent_id, self.db, self.keys)

    @rpc
    def revoke(self, caller: dict, consent_id: str, request: dict) -> dict[str, Any]:
        """The consent after revocation (whole, or for ``request["recipients"]``)."""
        agency = load_caller(caller)
        consent_id = load(s.IdSchema(), {"id": consent_id})["id"]
        body = load(s.RevokeRequest(), request)
        return handlers.revoke(agency, consent_id, body, self.db, self.keys, self.ledger_keys,
                               self.clock())

    @rpc
    def end_treatment(self, caller: dict, consent_id: str) -> dict[str, Any]:
        """A consent that expires at the end of treatment expires now."""
        agency = load_caller(caller)
        consent_id = load(s.IdSchema(), {"id": consent_id})["id"]
        return handlers.end_treatment(agency, consent_id, self.db, self.keys, self.ledger_keys,
                                      self.clock())

    # -- the decision point -----------------------------------------------------------------

    @rpc
    def authorize(self, discloser: str, recipient: dict, purpose: str, data_classes: list,
                  participant_id: str, consent_id: str | None = None) -> dict[str, Any]:
        """``{"permit", "reason", "consent_id", "decision_id", "allowed"}``; always ledgered."""
        request = load(s.DecisionRequest(), {
            "discloser": discloser, "recipient": recipient, "purpose": purpose,
            "data_classes": data_classes, "participant_id": participant_id, "consent_id": consent_id})
        return handlers.authorize(request, self.db, self.keys, self.ledger_keys, self.clock())

    @rpc
    def disclose(self, discloser: str, recipient: dict, purpose: str, data_classes: list,
                 participant_id: str, consent_id: str | None = None) -> dict[str, Any]:
        """The permitted participant details, summary and notice; ``ConsentRequired`` on deny."""
        request = load(s.DecisionRequest(), {
            "discloser": discloser, "recipient": recipient, "purpose": purpose,
            "data_classes": data_classes, "participant_id": participant_id, "consent_id": consent_id})
        return handlers.disclose(request, self.db, self.keys, self.ledger_keys, self.clock())

    @rpc
    def record_access(self, actor: str, participant_id: str, what: str) -> dict[str, int]:
        request = load(s.AccessRequest(), {"actor": actor, "participant_id": participant_id,
                                             "what": what})
        return handlers.record_access(request, self.db, self.ledger_keys, self.clock())

    # -- audit ------------------------------------------------------------------------------

    @rpc
    def disclosures(self, caller: dict, participant_id: str) -> dict[str, Any]:
        agency = load_caller(caller)
        participant_id = load(s.IdSchema(), {"id": participant_id})["id"]
        return handlers.disclosures(agency, participant_id, self.db, self.keys)

    @rpc
    def ledger(self, filters: dict | None = None) -> dict[str, Any]:
        return handlers.ledger(load(s.LedgerFilters(), filters or {}), self.db)

    @rpc
    def verify_ledger(self) -> dict[str, Any]:
        # Yield to other greenthreads between chunks: a long check must not stall RPC.
        return handlers.verify_ledger(self.db, self.ledger_keys,
                                      between_chunks=lambda _read: eventlet.sleep(0))

    # -- timers (one designated replica: TIMERS_ENABLED) ------------------------------------

    @every("EXPIRY_CHECK_SECONDS", 60)
    def expire_due(self) -> None:
        handlers.expire_due(self.db, self.keys, self.ledger_keys, self.clock())

    @every("LEDGER_CHECKPOINT_SECONDS", 300)
    def checkpoint_ledger(self) -> None:
        handlers.checkpoint(self.db, self.ledger_keys, self.clock())
