"""Idempotency records keep a digest and the created object's id under a lease, never a response.

The records made before this revision held whole responses in clear (a new agency's API key, a
referral's reason): they are dropped with their table, not carried over. The ``creations`` table
records which agency each Idempotency-Key registered.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from services.kit.db import UTCDateTime
from services.kit.kit_tables import create_creations_table_v1, drop_creations_table_v1

revision = '0002'
down_revision = '0001'


def upgrade() -> None:
    op.drop_table('idempotency_records')
    op.create_table('idempotency_records',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('agency_id', sa.String(length=36), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('lease_until', UTCDateTime(), nullable=False),
    sa.Column('object_id', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('agency_id', 'key', name='uq_idempotency_agency_key')
    )
    op.create_index(op.f('ix_idempotency_records_created_at'), 'idempotency_records', ['created_at'])
    create_creations_table_v1(op)


def downgrade() -> None:
    drop_creations_table_v1(op)
    op.drop_table('idempotency_records')
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
