"""Rotating the field key of a real service database: every sealed cell moves, reads keep working."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.kit.cli import main as cli_main
from services.kit.crypto import KeyRing, generate_key
from services.kit.db import make_engine, utcnow
from services.notifications.adapters import orm
from services.notifications.adapters.settings_repository import SettingsRepository
from services.notifications.domain.settings_request import WebhookPolicy, apply_settings


def _ring_spec(*keys: tuple[str, str]) -> str:
    return ",".join(f"{kid}:{key}" for kid, key in keys)


def test_keys_rotate_moves_a_services_sealed_cells_to_the_new_key(database_url, tmp_path, capsys):
    old, new = ("k1", generate_key()), ("k2", generate_key())
    engine = make_engine(database_url)
    orm.metadata.create_all(engine)
    with Session(engine) as session:
        repo = SettingsRepository(session, KeyRing.from_config(_ring_spec(old)))
        for n in range(30):
            change = apply_settings(f"agency-{n}", "hospital", ["referrer"],
                                    {"webhook_url": f"https://hooks{n}.example.org/in",
                                     "email": f"intake{n}@example.org"}, None, WebhookPolicy())
            repo.save_settings(change.settings, utcnow())
        session.commit()

    config = tmp_path / "notifications.yml"
    config.write_text(f"DATABASE_URL: {database_url}\nFIELD_ENCRYPTION_KEYS: {_ring_spec(old, new)}\n")
    assert cli_main(["field-keys", "rotate", "notifications", "--config", str(config)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report == {"service": "notifications", "key": "k2", "rewritten": 30 * 3, "left": 0}

    both = KeyRing.from_config(_ring_spec(old, new))
    with Session(engine) as session:
        tokens = session.execute(select(orm.settings.c.email)).scalars().all()
        assert tokens and all(token.startswith("v1.k2.") for token in tokens)
        read = SettingsRepository(session, both).settings_of("agency-7")
        assert read.email == "intake7@example.org"
        assert read.webhook_url == "https://hooks7.example.org/in"
    engine.dispose()
