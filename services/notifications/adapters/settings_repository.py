"""Agencies' notification settings in their table, contact details and secrets sealed.

Contact details and secrets are sealed on the way in and unsealed on the way out,
so no caller handles ciphertext and nothing personal is stored in clear.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from services.kit.crypto import KeyRing
from services.kit.db import dialect_insert
from services.kit.encrypted import seal, unseal
from services.notifications.adapters import orm
from services.notifications.domain.settings import AgencySettings

# Built once: every event planned and every dispatch reads the agencies' settings.
_SETTINGS_OF = select(orm.settings).where(orm.settings.c.agency_id == bindparam("agency_id"))


class SettingsRepository:
    def __init__(self, session: Session, ring: KeyRing) -> None:
        self.session = session
        self.ring = ring

    def settings_of(self, agency_id: str) -> AgencySettings | None:
        """The agency's settings, decrypted; None when it never set any.

        Raises ``DecryptionError`` when a sealed cell was altered or moved.
        """
        row = self.session.execute(_SETTINGS_OF, {"agency_id": agency_id}).mappings().first()
        if row is None:
            return None
        sealed = {c: row[c] for c in orm.ENCRYPTED[orm.SETTINGS]}
        return AgencySettings.from_record(
            {**row, **unseal(self.ring, orm.SETTINGS, agency_id, sealed)})

    def save_settings(self, settings: AgencySettings, now: datetime) -> None:
        """Insert or replace the agency's settings, sealing its addresses and secret."""
        record = settings.to_record()
        clear = {c: record[c] for c in orm.ENCRYPTED[orm.SETTINGS]}
        values = {
            "agency_kind": settings.agency_kind, "roles": list(settings.roles),
            "network_admin": settings.is_network_admin, "language": settings.language,
            "quiet_hours": record["quiet_hours"], "channels": record["channels"],
            "updated_at": now, **seal(self.ring, orm.SETTINGS, settings.agency_id, clear),
        }
        statement = dialect_insert(self.session, orm.settings).values(agency_id=settings.agency_id, **values)
        self.session.execute(statement.on_conflict_do_update(index_elements=["agency_id"], set_=values))

    def network_admins(self) -> list[str]:
        """Ids of the agencies whose settings were saved with the ``admin`` role."""
        c = orm.settings.c
        return list(self.session.scalars(select(c.agency_id).where(c.network_admin.is_(True))))
