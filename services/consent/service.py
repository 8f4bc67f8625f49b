"""The consent service: Part 2 consents, the authorize decision point and the audit ledger.

Run with ``nameko run --config services/consent/config.yml services.consent.service``.
Each entrypoint loads the caller and the message, builds a command, calls one handler and
returns its JSON-ready answer (docs/rpc.md).
"""

from __future__ import annotations

from typing import Any

import eventlet
from nameko.rpc import rpc

from services.consent import handlers
from services.consent import schemas as s
from services.consent.adapters.orm import metadata
from services.consent.adapters.repositories import consent_repositories
from services.consent.dependencies import EndOfTreatmentLifetime, LedgerKeys
from services.consent.domain import commands as c
from services.kit.dependencies import Clock, Database
from services.kit.entrypoints import every
from services.kit.messages import load, load_caller


class ConsentService:
    name = "consent"

    db = Database(metadata, repositories=consent_repositories, sealed=True)
    clock = Clock()
    ledger_keys = LedgerKeys()
    end_of_treatment_lifetime = EndOfTreatmentLifetime()

    @rpc
    def ping(self) -> str:
        return "ok"

    # -- consents ---------------------------------------------------------------------------

    @rpc
    def grant(self, caller: dict, request: dict) -> dict[str, Any]:
        """The new consent, held by the caller's agency; ``InvalidRequest`` names what is missing."""
        command = c.GrantConsent(load_caller(caller), request)
        return handlers.grant(command, self.db, self.ledger_keys, self.clock(),
                              end_of_treatment_lifetime=self.end_of_treatment_lifetime)

    @rpc
    def get(self, caller: dict, consent_id: str) -> dict[str, Any]:
        command = c.ReadConsent(load_caller(caller), _id(consent_id))
        return handlers.get(command, self.db)

    @rpc
    def revoke(self, caller: dict, consent_id: str, request: dict) -> dict[str, Any]:
        """The consent after revocation (whole, or for ``request["recipients"]``)."""
        asking = load_caller(caller)
        body = load(s.RevokeRequest(), request)
        command = c.RevokeConsent(asking, _id(consent_id), body["reason"], body["recipients"])
        return handlers.revoke(command, self.db, self.ledger_keys, self.clock())

    @rpc
    def attest(self, caller: dict, consent_id: str) -> dict[str, Any]:
        """The calling agency, a named discloser, confirms the consent: it is covered from now."""
        command = c.AttestConsent(load_caller(caller), _id(consent_id))
        return handlers.attest(command, self.db, self.ledger_keys, self.clock())

    @rpc
    def end_treatment(self, caller: dict, consent_id: str) -> dict[str, Any]:
        """A consent that expires at the end of treatment expires now (its holder says so)."""
        command = c.EndTreatment(load_caller(caller), _id(consent_id))
        return handlers.end_treatment(command, self.db, self.ledger_keys, self.clock())

    # -- the decision point -----------------------------------------------------------------

    @rpc
    def authorize(self, discloser: str, recipient: dict, purpose: str, data_classes: list,
                  participant_id: str, consent_id: str | None = None, asking: str | None = None,
                  read: str | None = None) -> dict[str, Any]:
        """``{"permit", "reason", "refusal", "consent_id", "decision_id", "allowed"}``; always
        ledgered, with the read of ``read`` on a permit."""
        command = c.AuthorizeDisclosure(**load(s.AuthorizeRequest(), {
            "discloser": discloser, "recipient": recipient, "purpose": purpose,
            "data_classes": data_classes, "participant_id": participant_id, "consent_id": consent_id,
            "asking": asking, "read": read}))
        return handlers.authorize(command, self.db, self.ledger_keys, self.clock())

    @rpc
    def disclose(self, discloser: str, recipient: dict, purpose: str, data_classes: list,
                 participant_id: str, consent_id: str | None = None,
                 asking: str | None = None) -> dict[str, Any]:
        """The permitted participant details, summary and notice; ``ConsentRequired`` on deny."""
        command = c.Disclose(**load(s.DecisionRequest(), {
            "discloser": discloser, "recipient": recipient, "purpose": purpose,
            "data_classes": data_classes, "participant_id": participant_id, "consent_id": consent_id,
            "asking": asking}))
        return handlers.disclose(command, self.db, self.ledger_keys, self.clock())

    @rpc
    def record_access(self, actor: str, participant_id: str, what: str) -> dict[str, int]:
        command = c.RecordAccess(**load(s.AccessRequest(), {
            "actor": actor, "participant_id": participant_id, "what": what}))
        return handlers.record_access(command, self.db, self.ledger_keys, self.clock())

    # -- audit ------------------------------------------------------------------------------

    @rpc
    def disclosures(self, caller: dict, participant_id: str) -> dict[str, Any]:
        command = c.ListDisclosures(load_caller(caller), _id(participant_id))
        return handlers.disclosures(command, self.db)

    @rpc
    def ledger(self, filters: dict | None = None) -> dict[str, Any]:
        found = load(s.LedgerFilters(), filters or {})
        command = c.ReadLedger(limit=found["limit"], participant_id=found["participant"],
                               since=found["since"], after_seq=int(found["page"]) if found["page"] else None)
        return handlers.ledger(command, self.db)

    @rpc
    def verify_ledger(self) -> dict[str, Any]:
        # Yield to other greenthreads between chunks: a long check must not stall RPC.
        return handlers.verify_ledger(c.VerifyLedger(), self.db, self.ledger_keys,
                                      between_chunks=lambda _read: eventlet.sleep(0))

    # -- timers (one designated replica: TIMERS_ENABLED) ------------------------------------

    @every("EXPIRY_CHECK_SECONDS", 60)
    def expire_due(self) -> None:
        handlers.expire_due(c.ExpireDueConsents(), self.db, self.ledger_keys, self.clock())

    @every("LEDGER_CHECKPOINT_SECONDS", 300)
    def checkpoint_ledger(self) -> None:
        handlers.checkpoint(c.CheckpointLedger(), self.db, self.ledger_keys, self.clock())


def _id(value: Any) -> str:
    """An id argument; ``InvalidRequest`` naming ``id`` when it is missing or malformed."""
    return load(s.IdSchema(), {"id": value})["id"]
