"""Two tiny services built only from the kit: one that writes and publishes, one that consumes."""

from __future__ import annotations

from nameko.rpc import rpc
from sqlalchemy import Column, Integer, String, Table, func, insert, select

from services.kit.db import service_metadata
from services.kit.dependencies import Database
from services.kit.entrypoints import subscribe


class ScratchDatabase(Database):
    """These services exist only in tests and have no migrations: their tables are created at start."""

    def verify_schema(self, engine) -> None:
        self.metadata.create_all(engine)


producer_metadata = service_metadata()
notes = Table(
    "notes", producer_metadata,
    Column("id", Integer, primary_key=True),
    Column("consent_id", String(64), nullable=False),
)

sink_metadata = service_metadata()
effects = Table(
    "effects", sink_metadata,
    Column("id", Integer, primary_key=True),
    Column("consent_id", String(64), nullable=False),
)
poison = Table("poison", sink_metadata, Column("consent_id", String(64), primary_key=True))


class BoomError(RuntimeError):
    pass


def expire_consent(uow, consent_id: str) -> None:
    uow.session.execute(insert(notes).values(consent_id=consent_id))
    uow.publish(
        "consent.expired", {"consent_id": consent_id, "participant_id": "p-1"}, aggregate_id=consent_id
    )


class KitProducer:
    name = "kitproducer"
    db = ScratchDatabase(producer_metadata)

    @rpc
    def expire(self, consent_ids: list[str], fail_after_write: bool = False) -> int:
        with self.db as uow:
            for consent_id in consent_ids:
                expire_consent(uow, consent_id)
            if fail_after_write:
                raise BoomError("failed after writing")
            uow.commit()
        return len(consent_ids)


def record_effect(event, uow) -> None:
    consent_id = event.payload["consent_id"]
    if uow.session.execute(select(poison).where(poison.c.consent_id == consent_id)).first():
        raise BoomError(f"cannot handle {consent_id}")
    uow.session.execute(insert(effects).values(consent_id=consent_id))


class KitSink:
    name = "kitsink"
    db = ScratchDatabase(sink_metadata)

    @subscribe("consent.expired")
    def on_consent_expired(self, event) -> None:
        self.db.handle(event, record_effect)

    @rpc
    def effects(self) -> dict[str, int]:
        with self.db as uow:
            rows = uow.session.execute(
                select(effects.c.consent_id, func.count()).group_by(effects.c.consent_id)
            ).all()
        return {consent_id: count for consent_id, count in rows}

    @rpc
    def poison(self, consent_id: str, on: bool) -> None:
        with self.db as uow:
            if on:
                uow.session.execute(insert(poison).values(consent_id=consent_id))
            else:
                uow.session.execute(poison.delete().where(poison.c.consent_id == consent_id))
            uow.commit()
