"""The schema of the notifications service as it stood when migrations began (what ``create_all`` built)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from services.kit.db import UTCDateTime
from services.kit.kit_tables import create_kit_tables_v1, drop_kit_tables_v1

revision = '0001'
down_revision = None


def upgrade() -> None:
    create_kit_tables_v1(op)
    op.create_table('deliveries',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('key', sa.String(length=300), nullable=False),
    sa.Column('agency_id', sa.String(length=64), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('event_type', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('next_attempt_at', UTCDateTime(), nullable=True),
    sa.Column('attempts', sa.JSON(), nullable=False),
    sa.Column('message', sa.JSON(), nullable=False),
    sa.Column('claim', sa.String(length=36), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    op.create_index(op.f('ix_deliveries_claim'), 'deliveries', ['claim'])
    op.create_index('ix_deliveries_due', 'deliveries', ['status', 'next_attempt_at'])
    op.create_index('ix_deliveries_log', 'deliveries', ['agency_id', 'created_at', 'id'])
    op.create_table('handoffs',
    sa.Column('participant_id', sa.String(length=64), nullable=False),
    sa.Column('agency_id', sa.String(length=64), nullable=False),
    sa.Column('recorded_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('participant_id', 'agency_id')
    )
    op.create_table('notification_settings',
    sa.Column('agency_id', sa.String(length=64), nullable=False),
    sa.Column('agency_kind', sa.String(length=32), nullable=False),
    sa.Column('roles', sa.JSON(), nullable=False),
    sa.Column('network_admin', sa.Boolean(), nullable=False),
    sa.Column('webhook_url', sa.Text(), nullable=True),
    sa.Column('webhook_secret', sa.Text(), nullable=True),
    sa.Column('email', sa.Text(), nullable=True),
    sa.Column('phone', sa.Text(), nullable=True),
    sa.Column('language', sa.String(length=35), nullable=False),
    sa.Column('quiet_hours', sa.JSON(), nullable=True),
    sa.Column('channels', sa.JSON(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('agency_id')
    )
    op.create_index(op.f('ix_notification_settings_network_admin'), 'notification_settings',
                    ['network_admin'])
    op.create_table('pending_proposals',
    sa.Column('match_id', sa.String(length=64), nullable=False),
    sa.Column('referral_id', sa.String(length=64), nullable=False),
    sa.Column('referrer_agency_id', sa.String(length=64), nullable=False),
    sa.Column('mentor_agency_id', sa.String(length=64), nullable=False),
    sa.Column('urgency', sa.String(length=16), nullable=False),
    sa.Column('proposed_at', UTCDateTime(), nullable=False),
    sa.Column('escalated_at', UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('match_id')
    )


def downgrade() -> None:
    # Dropping a table drops its indexes.
    op.drop_table('pending_proposals')
    op.drop_table('notification_settings')
    op.drop_table('handoffs')
    op.drop_table('deliveries')
    drop_kit_tables_v1(op)
