"""The outcomes service's first schema: the append-only event log and the read model
(one row per referral, one per ended consent)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from services.kit.db import UTCDateTime
from services.kit.kit_tables import create_kit_tables_v1, drop_kit_tables_v1

revision = '0001'
down_revision = None


def upgrade() -> None:
    create_kit_tables_v1(op)
    op.create_table('outcome_events',
    sa.Column('seq', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('type', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('occurred_at', UTCDateTime(), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('referral_id', sa.String(length=64), nullable=True),
    sa.Column('consent_id', sa.String(length=64), nullable=True),
    sa.Column('participant_ref', sa.String(length=32), nullable=True),
    sa.Column('facts', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('seq'),
    sa.UniqueConstraint('event_id')
    )
    op.create_index(op.f('ix_outcome_events_referral_id'), 'outcome_events', ['referral_id'])
    op.create_table('referral_outcomes',
    sa.Column('referral_id', sa.String(length=64), nullable=False),
    sa.Column('participant_ref', sa.String(length=32), nullable=True),
    sa.Column('referrer_agency_id', sa.String(length=64), nullable=True),
    sa.Column('urgency', sa.String(length=16), nullable=True),
    sa.Column('language', sa.String(length=16), nullable=True),
    sa.Column('peer_group_id', sa.String(length=64), nullable=True),
    sa.Column('mentor_id', sa.String(length=64), nullable=True),
    sa.Column('requested_at', UTCDateTime(), nullable=True),
    sa.Column('proposed_at', UTCDateTime(), nullable=True),
    sa.Column('accepted_at', UTCDateTime(), nullable=True),
    sa.Column('first_contact_at', UTCDateTime(), nullable=True),
    sa.Column('waitlisted_at', UTCDateTime(), nullable=True),
    sa.Column('wait_ended_at', UTCDateTime(), nullable=True),
    sa.Column('closed_at', UTCDateTime(), nullable=True),
    sa.Column('closed_status', sa.String(length=16), nullable=True),
    sa.Column('close_reason', sa.String(length=32), nullable=True),
    sa.Column('barc_handoff', sa.Integer(), nullable=True),
    sa.Column('barc_day90', sa.Integer(), nullable=True),
    sa.Column('engaged_windows', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('referral_id')
    )
    op.create_table('consent_endings',
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('participant_ref', sa.String(length=32), nullable=True),
    sa.Column('ended_at', UTCDateTime(), nullable=False),
    sa.Column('reason', sa.String(length=16), nullable=False),
    sa.PrimaryKeyConstraint('event_id')
    )


def downgrade() -> None:
    op.drop_table('consent_endings')
    op.drop_table('referral_outcomes')
    op.drop_index(op.f('ix_outcome_events_referral_id'), table_name='outcome_events')
    op.drop_table('outcome_events')
    drop_kit_tables_v1(op)
