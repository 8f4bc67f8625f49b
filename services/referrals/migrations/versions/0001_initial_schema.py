"""The schema of the referrals service as it stood when migrations began (what ``create_all`` built).

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from services.kit.db import UTCDateTime

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('outbox',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('type', sa.String(length=64), nullable=False),
    sa.Column('aggregate_id', sa.String(length=64), nullable=True),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('published_at', UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('event_id')
    )
    op.create_index(op.f('ix_outbox_aggregate_id'), 'outbox', ['aggregate_id'])
    op.create_index(op.f('ix_outbox_published_at'), 'outbox', ['published_at'])
    op.create_table('processed_events',
    sa.Column('consumer', sa.String(length=200), nullable=False),
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('processed_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('consumer', 'event_id')
    )
    op.create_table('referrals',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('referrer_agency_id', sa.String(length=64), nullable=False),
    sa.Column('assigned_agency_id', sa.String(length=64), nullable=True),
    sa.Column('participant_id', sa.String(length=64), nullable=False),
    sa.Column('consent_id', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('urgency', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('needs', sa.Text(), nullable=False),
    sa.Column('match', sa.JSON(), nullable=True),
    sa.Column('waitlisted', sa.Boolean(), nullable=False),
    sa.Column('match_updated_at', UTCDateTime(), nullable=True),
    sa.Column('handoff_open', sa.Boolean(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_referrals_assigned_agency_id'), 'referrals', ['assigned_agency_id'])
    op.create_index(op.f('ix_referrals_consent_id'), 'referrals', ['consent_id'])
    op.create_index('ix_referrals_created', 'referrals', ['created_at', 'id'])
    op.create_index(op.f('ix_referrals_referrer_agency_id'), 'referrals', ['referrer_agency_id'])
    op.create_index(op.f('ix_referrals_status'), 'referrals', ['status'])
    op.create_table('handoff_packets',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('agency_id', sa.String(length=64), nullable=False),
    sa.Column('participant', sa.Text(), nullable=False),
    sa.Column('consent', sa.JSON(), nullable=False),
    sa.Column('redisclosure_notice', sa.Text(), nullable=False),
    sa.Column('decision_id', sa.String(length=64), nullable=True),
    sa.Column('disclosed_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['id'], ['referrals.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('referral_history',
    sa.Column('id', sa.String(length=80), nullable=False),
    sa.Column('referral_id', sa.String(length=36), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('at', UTCDateTime(), nullable=False),
    sa.Column('by', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('reason_code', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_referral_history_referral_id'), 'referral_history', ['referral_id'])



def downgrade() -> None:
    # Dropping a table drops its indexes.
    op.drop_table('referral_history')
    op.drop_table('handoff_packets')
    op.drop_table('referrals')
    op.drop_table('processed_events')
    op.drop_table('outbox')
