"""FHIR Subscriptions: an agency's rest-hooks on its Tasks' status changes (endpoint sealed)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from services.kit.db import UTCDateTime

revision = '0002'
down_revision = '0001'


def upgrade() -> None:
    op.create_table('fhir_subscriptions',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('agency_id', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('topic', sa.String(length=200), nullable=False),
    sa.Column('endpoint', sa.Text(), nullable=False),
    sa.Column('heartbeat_seconds', sa.Integer(), nullable=True),
    sa.Column('events_since_start', sa.Integer(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('last_heartbeat_at', UTCDateTime(), nullable=True),
    sa.Column('reason', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(op.f('ix_fhir_subscriptions_agency_id'), 'fhir_subscriptions', ['agency_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_fhir_subscriptions_agency_id'), table_name='fhir_subscriptions')
    op.drop_table('fhir_subscriptions')
