"""The schema of the referrals service as it stood when migrations began (what ``create_all`` built)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from services.kit.db import UTCDateTime
from services.kit.kit_tables import create_kit_tables_v1, drop_kit_tables_v1

revision = '0001'
down_revision = None


def upgrade() -> None:
    create_kit_tables_v1(op)
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
    drop_kit_tables_v1(op)
