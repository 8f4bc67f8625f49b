"""Alembic environment of the outcomes service: its tables plus the kit's outbox and inbox.

Run by ``services.kit.migrations`` (``referral-network migrate``), which hands it the connection.
"""

from alembic import context

from services.kit.migrations import run_migrations
from services.outcomes.adapters.orm import metadata

run_migrations(context, metadata)
