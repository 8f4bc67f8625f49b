"""Agencies written straight into the gateway's database, as the command line writes them.

The pepper lives here, not in ``conftest.py``: a test module importing from the conftest would
get a second copy of it, with another random pepper.
"""

from __future__ import annotations

import secrets

from sqlalchemy.orm import sessionmaker

from gateway.adapters.stores import create_agency
from services.kit.db import make_engine

PEPPER = secrets.token_hex(32)


def insert_agency(gateway_config, name: str, kind: str, roles: list[str]) -> tuple[dict, str]:
    """An agency and its key, written the way `referral-network agency create` writes them."""
    engine = make_engine(gateway_config["DATABASE_URL"])
    try:
        with sessionmaker(engine)() as session:
            agency, key = create_agency(session, PEPPER.encode(), name=name, kind=kind, roles=roles)
            session.commit()
    finally:
        engine.dispose()
    return agency, key
