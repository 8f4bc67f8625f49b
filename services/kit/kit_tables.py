"""The kit's own tables (the outbox and the inbox's ``processed_events``) as migration steps.

Every service's database holds them (see ``services.kit.db``), so every service's first revision
creates them through these functions instead of spelling them out again. Each function is frozen at
the version its name gives: once a revision calls it, changing it would rewrite history. When the
kit's tables change, add ``create_kit_tables_v2``-style steps for the new revisions and leave these
as they are.
"""

from __future__ import annotations

import sqlalchemy as sa

from services.kit.db import UTCDateTime

KIT_TABLES_V1 = ("outbox", "processed_events")


def create_kit_tables_v1(op) -> None:
    """Create the outbox and ``processed_events`` as they stood when migrations began.

    ``op`` is Alembic's operations object of the running revision; fails as Alembic does when a
    table of the same name exists already.
    """
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("aggregate_id", sa.String(length=64), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("published_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id"),
    )
    op.create_index(op.f("ix_outbox_aggregate_id"), "outbox", ["aggregate_id"])
    op.create_index(op.f("ix_outbox_published_at"), "outbox", ["published_at"])
    op.create_table(
        "processed_events",
        sa.Column("consumer", sa.String(length=200), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("processed_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("consumer", "event_id"),
    )


def drop_kit_tables_v1(op) -> None:
    """Drop what ``create_kit_tables_v1`` created (their indexes go with them)."""
    for table in reversed(KIT_TABLES_V1):
        op.drop_table(table)


def create_creations_table_v1(op) -> None:
    """Create ``creations`` (``services.kit.creations``): one row per Idempotency-Key that made an object.

    For the services that create objects on request; frozen like ``create_kit_tables_v1``.
    """
    op.create_table(
        "creations",
        sa.Column("agency_id", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("object_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("agency_id", "key", name="pk_creations"),
    )


def drop_creations_table_v1(op) -> None:
    """Drop what ``create_creations_table_v1`` created."""
    op.drop_table("creations")
