"""Which object each Idempotency-Key created: the consent service makes at most one per key."""

from __future__ import annotations

from alembic import op

from services.kit.kit_tables import create_creations_table_v1, drop_creations_table_v1

revision = '0002'
down_revision = '0001'


def upgrade() -> None:
    create_creations_table_v1(op)


def downgrade() -> None:
    drop_creations_table_v1(op)
