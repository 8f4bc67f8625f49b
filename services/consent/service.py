"""The consent service: Part 2 consents, the authorize decision point and the audit ledger.

Run with ``nameko run --config services/consent/config.yml services.consent.service``.
Each entrypoint loads the caller and the message, builds a command, calls one handler and
returns its JSON-ready answer (docs/rpc.md).
"""

from __future__ import annotations

from typing import Any

import eventlet

from services.consent import handlers
from services.consent import schemas as s
from services.consent.adapters.orm import metadata
from services.consent.adapters.repositories import consent_repositories
from services.consent.dependencies import EndOfTreatmentLifetime, LedgerKeys, Verifications
from services.consent.domain import commands as c
from services.kit.creations import creation_of
from services.kit.dependencies import Clock, Database
from services.kit.entrypoints import every, rpc
from services.kit.errors import InvalidRequest
from services.kit.messages import load, load_caller, shared
from services.kit.pages import MAX_PAGE_SIZE, read_cursor
from services.kit.resolver import resolve_on_threads
from services.kit.rpc import CallingService, verified_rpc

resolve_on_threads()  # before anything resolves a name (services/kit/resolver.py)

# Only the referrals service discloses participant details and ledgers reads of them; the broker
# vouches for the caller (RPC_CALLER_USERS, services/kit/rpc.py).
DECISION_CALLERS = ("referrals",)


class ConsentService:
    name = "consent"

    db = Database(metadata, repositories=consent_repositories, sealed=True)
    clock = Clock()
    ledger_keys = LedgerKeys()
    calling = CallingService()
    end_of_treatment_lifetime = EndOfTreatmentLifetime()
    verifications = Verifications()

    @rpc
    def ping(self) -> str:
        return "ok"

    @rpc
    def health(self) -> dict[str, str]:
        """This process's view of its database, for ``GET /ready``: ``{"database": "ok"}``."""
        return {"database": self.db.check()}

    # -- consents ---------------------------------------------------------------------------

    @rpc
    def grant(self, caller: dict, request: dict, idempotency_key: str | None = None) -> dict[str, Any]:
        """The new consent, held by the caller's agency; ``InvalidRequest`` names what is missing.

        With ``idempotency_key``, the consent that key recorded when it was used before.
        """
        asking = load_caller(caller)
        command = c.GrantConsent(asking, request, creation_of(asking.agency_id, idempotency_key, request))
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
        body = load(shared(s.RevokeRequest), request)
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

    @verified_rpc
    def authorize(self, discloser: str, recipient: dict, purpose: str, data_classes: list,
                  participant_id: str, consent_id: str | None = None, asking: str | None = None,
                  read: str | None = None, acting: str | None = None) -> dict[str, Any]:
        """``{"permit", "reason", "refusal", "consent_id", "decision_id", "allowed"}``; always
        ledgered, with the read of ``read`` on a permit, naming ``acting`` (who asked)."""
        self.calling.require(*DECISION_CALLERS)
        command = c.AuthorizeDisclosure(**load(shared(s.AuthorizeRequest), {
            "discloser": discloser, "recipient": recipient, "purpose": purpose,
            "data_classes": data_classes, "participant_id": participant_id, "consent_id": consent_id,
            "asking": asking, "read": read, "acting": acting}))
        return handlers.authorize(command, self.db, self.ledger_keys, self.clock())

    @verified_rpc
    def disclose(self, discloser: str, recipient: dict, purpose: str, data_classes: list,
                 participant_id: str, consent_id: str | None = None,
                 asking: str | None = None, acting: str | None = None) -> dict[str, Any]:
        """The permitted participant details, summary and notice; ``ConsentRequired`` on deny."""
        self.calling.require(*DECISION_CALLERS)
        command = c.Disclose(**load(shared(s.DecisionRequest), {
            "discloser": discloser, "recipient": recipient, "purpose": purpose,
            "data_classes": data_classes, "participant_id": participant_id, "consent_id": consent_id,
            "asking": asking, "acting": acting}))
        return handlers.disclose(command, self.db, self.ledger_keys, self.clock())

    @rpc
    def covered_classes(self, discloser: str, recipient: dict, purpose: str, data_classes: list,
                        participant_id: str, consent_id: str) -> dict[str, Any]:
        """``{"consent_id", "covered", "allowed"}``: the classes the consent covers for this
        recipient now. A question about scope: nothing is disclosed, nothing ledgered."""
        found = load(shared(s.CoverageRequest), {
            "discloser": discloser, "recipient": recipient, "purpose": purpose,
            "data_classes": data_classes, "participant_id": participant_id, "consent_id": consent_id})
        return handlers.covered_classes(c.CoveredClasses(**found), self.db, self.clock())

    @verified_rpc
    def record_access(self, actor: str, participant_id: str, what: str,
                      acting: str | None = None) -> dict[str, int]:
        self.calling.require(*DECISION_CALLERS)
        command = c.RecordAccess(**load(shared(s.AccessRequest), {
            "actor": actor, "participant_id": participant_id, "what": what, "acting": acting}))
        return handlers.record_access(command, self.db, self.ledger_keys, self.clock())

    # -- audit ------------------------------------------------------------------------------

    @rpc
    def disclosures(self, caller: dict, participant_id: str, page: str | None = None,
                    since: str | None = None, until: str | None = None) -> dict[str, Any]:
        """A page (``MAX_PAGE_SIZE``) of the participant's accounting, for agencies holding its
        consent; ``page`` is the previous page's ``next_page``; ``since``/``until`` (ISO
        instants with their zone) keep the disclosures at or after, and before, them."""
        between = load(shared(s.DisclosureWindow), {"since": since, "until": until})
        after = None
        if page:
            at, seq = read_cursor(page)
            if not seq.isdigit():
                raise InvalidRequest("Invalid page.", errors={"page": ["Not a page of this listing."]})
            after = (at, int(seq))
        command = c.ListDisclosures(load_caller(caller), _id(participant_id), after, MAX_PAGE_SIZE,
                                    since=between["since"], until=between["until"])
        return handlers.disclosures(command, self.db)

    @rpc
    def ledger(self, caller: dict, filters: dict | None = None) -> dict[str, Any]:
        """A page of the ledger: every row for the operator, the caller's agency's otherwise."""
        found = load(shared(s.LedgerFilters), filters or {})
        command = c.ReadLedger(
            load_caller(caller), limit=found["limit"], participant_id=found["participant"],
            since=found["since"], until=found["until"], actor=found["actor"],
            agency=found["agency"], action=found["action"],
            after_seq=int(found["page"]) if found["page"] else None)
        return handlers.ledger(command, self.db)

    @rpc
    def export_ledger(self, after_seq: int | None = None, limit: int = c.EXPORT_PAGE_LIMIT,
                      up_to: int | None = None) -> dict[str, Any]:
        """A page of the ledger with every hashed field: ``{"items", "head"}``."""
        page = load(shared(s.LedgerExportRequest), {"after_seq": after_seq, "limit": limit, "up_to": up_to})
        return handlers.export_ledger(c.ExportLedger(**page), self.db)

    @rpc
    def public_key(self) -> str:
        """The PEM of the Ed25519 key that checks the ledger's signed checkpoints."""
        return handlers.public_key(self.ledger_keys)

    @rpc
    def record_change(self, caller: dict, request: dict) -> dict[str, int]:
        """Ledger an agency's or a key's change made by ``caller``; ``{"seq"}``."""
        body = load(shared(s.ChangeRequest), request)
        command = c.RecordChange(load_caller(caller), body["action"], body["subject"], body["details"])
        return handlers.record_change(command, self.db, self.ledger_keys, self.clock())

    @rpc
    def verify_ledger(self) -> dict[str, Any]:
        # Yield to other greenthreads between chunks: a long check must not stall RPC.
        return handlers.verify_ledger(c.VerifyLedger(), self.db, self.ledger_keys,
                                      between_chunks=lambda _read: eventlet.sleep(0))

    @rpc
    def start_verification(self) -> dict[str, Any]:
        """A verification of the whole ledger started in the background, or the one under way
        (at most one runs): ``{"id", "state", "started_at", "updated_at", "finished_at",
        "checked", "result"}``."""
        view, started = handlers.start_verification(self.db, self.clock(), self.verifications.rules)
        if started:
            uow, keys, clock, rules = self.db, self.ledger_keys, self.clock, self.verifications.rules
            self.verifications.spawn(lambda: handlers.run_verification(
                view["id"], uow, keys, clock, eventlet.sleep, rules))
        return view

    @rpc
    def verification(self, verification_id: str) -> dict[str, Any]:
        """A verification's state, progress (``checked`` rows) and, once done, its ``result``."""
        return handlers.read_verification(_id(verification_id), self.db)

    # -- timers (one designated replica: TIMERS_ENABLED) ------------------------------------

    @every("EXPIRY_CHECK_SECONDS", 60)
    def expire_due(self) -> None:
        handlers.expire_due(c.ExpireDueConsents(), self.db, self.ledger_keys, self.clock())

    @every("LEDGER_CHECKPOINT_SECONDS", 300)
    def checkpoint_ledger(self) -> None:
        handlers.checkpoint(c.CheckpointLedger(), self.db, self.ledger_keys, self.clock())


def _id(value: Any) -> str:
    """An id argument; ``InvalidRequest`` naming ``id`` when it is missing or malformed."""
    return load(shared(s.IdSchema), {"id": value})["id"]
