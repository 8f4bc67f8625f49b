"""Service databases for tests that start a service: built by the service's migrations, as in production."""

from __future__ import annotations

from services.kit import migrations


def migrated(service: str, url: str) -> str:
    """``url``, once its database is at ``service``'s head revision (a service refuses any other)."""
    migrations.upgrade(service, url)
    return url
