"""Alembic environment of the engagement service: its tables plus the kit's outbox and inbox.

Run by ``services.kit.migrations`` (``referral-network migrate``), which hands it the connection.
"""

from alembic import context

from services.engagement.adapters.orm import metadata
from services.kit.migrations import run_migrations

run_migrations(context, metadata)
