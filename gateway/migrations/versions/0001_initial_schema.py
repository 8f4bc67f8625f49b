"""The schema of the gateway as it stood when migrations began (what ``create_all`` built)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from services.kit.db import UTCDateTime
from services.kit.kit_tables import create_kit_tables_v1, drop_kit_tables_v1

revision = '0001'
down_revision = None


def upgrade() -> None:
    create_kit_tables_v1(op)
    op.create_table('agencies',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('roles', sa.JSON(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('idempotency_records',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('agency_id', sa.String(length=36), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('response_status', sa.Integer(), nullable=True),
    sa.Column('response_body', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('agency_id', 'key', name='uq_idempotency_agency_key')
    )
    op.create_table('api_keys',
    sa.Column('key_id', sa.String(length=64), nullable=False),
    sa.Column('agency_id', sa.String(length=36), nullable=False),
    sa.Column('digest', sa.String(length=128), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('revoked_at', UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], ),
    sa.PrimaryKeyConstraint('key_id')
    )
    op.create_index(op.f('ix_api_keys_agency_id'), 'api_keys', ['agency_id'])


def downgrade() -> None:
    # Dropping a table drops its indexes.
    op.drop_table('api_keys')
    op.drop_table('idempotency_records')
    op.drop_table('agencies')
    drop_kit_tables_v1(op)
