"""The engagement service's first schema: engagements, the contact log, check-in answers, the
texts sent, crises, BARC-10 questionnaires and the peer groups' on-call ladders."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from services.kit.db import UTCDateTime
from services.kit.kit_tables import (
    create_creations_table_v1,
    create_kit_tables_v1,
    drop_creations_table_v1,
    drop_kit_tables_v1,
)

revision = '0001'
down_revision = None


def upgrade() -> None:
    create_kit_tables_v1(op)
    create_creations_table_v1(op)
    op.create_table('assessments',
    sa.Column('agency_id', sa.String(length=64), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('referral_id', sa.String(length=64), nullable=False),
    sa.Column('due', sa.String(length=16), nullable=False),
    sa.Column('due_at', UTCDateTime(), nullable=False),
    sa.Column('token_digest', sa.String(length=64), nullable=True),
    sa.Column('sent_at', UTCDateTime(), nullable=True),
    sa.Column('expires_at', UTCDateTime(), nullable=True),
    sa.Column('completed_at', UTCDateTime(), nullable=True),
    sa.Column('items', sa.JSON(), nullable=True),
    sa.Column('total', sa.Integer(), nullable=True),
    sa.Column('belonging', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('agency_id', 'id'),
    sa.UniqueConstraint('token_digest')
    )
    op.create_index(op.f('ix_assessments_due_at'), 'assessments', ['due_at'])
    op.create_index('ix_assessments_referral', 'assessments', ['agency_id', 'referral_id', 'due_at'])
    op.create_table('checkin_answers',
    sa.Column('agency_id', sa.String(length=64), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('referral_id', sa.String(length=64), nullable=False),
    sa.Column('received_at', UTCDateTime(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('score', sa.Integer(), nullable=True),
    sa.Column('word', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('agency_id', 'id')
    )
    op.create_index('ix_checkin_answers_referral', 'checkin_answers',
                    ['agency_id', 'referral_id', 'received_at'])
    op.create_table('contacts',
    sa.Column('agency_id', sa.String(length=64), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('referral_id', sa.String(length=64), nullable=False),
    sa.Column('contacted_at', UTCDateTime(), nullable=False),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('duration_minutes', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('recorded_by', sa.String(length=80), nullable=False),
    sa.Column('recorded_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('agency_id', 'id')
    )
    op.create_index('ix_contacts_referral', 'contacts', ['agency_id', 'referral_id', 'contacted_at'])
    op.create_table('crises',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('agency_id', sa.String(length=64), nullable=False),
    sa.Column('referral_id', sa.String(length=64), nullable=False),
    sa.Column('signaled_at', UTCDateTime(), nullable=False),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('next_escalation_at', UTCDateTime(), nullable=True),
    sa.Column('acknowledged_at', UTCDateTime(), nullable=True),
    sa.Column('acknowledged_by', sa.String(length=80), nullable=True),
    sa.Column('history', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_crises_agency_id'), 'crises', ['agency_id'])
    op.create_index(op.f('ix_crises_next_escalation_at'), 'crises', ['next_escalation_at'])
    op.create_table('engagements',
    sa.Column('agency_id', sa.String(length=64), nullable=False),
    sa.Column('referral_id', sa.String(length=64), nullable=False),
    sa.Column('participant_id', sa.String(length=64), nullable=False),
    sa.Column('consent_id', sa.String(length=64), nullable=False),
    sa.Column('started_at', UTCDateTime(), nullable=False),
    sa.Column('phone', sa.Text(), nullable=True),
    sa.Column('email', sa.Text(), nullable=True),
    sa.Column('phone_digest', sa.String(length=64), nullable=True),
    sa.Column('language', sa.String(length=35), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('ended_reason', sa.String(length=32), nullable=True),
    sa.Column('ended_at', UTCDateTime(), nullable=True),
    sa.Column('first_contact_at', UTCDateTime(), nullable=True),
    sa.Column('last_contact_at', UTCDateTime(), nullable=True),
    sa.Column('last_answer_at', UTCDateTime(), nullable=True),
    sa.Column('checkins', sa.String(length=16), nullable=False),
    sa.Column('opt_in_method', sa.String(length=16), nullable=True),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('cadence_days', sa.Integer(), nullable=False),
    sa.Column('contact_window', sa.JSON(), nullable=False),
    sa.Column('next_checkin_at', UTCDateTime(), nullable=True),
    sa.Column('silence_level', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('agency_id', 'referral_id')
    )
    op.create_index(op.f('ix_engagements_consent_id'), 'engagements', ['consent_id'])
    op.create_index(op.f('ix_engagements_next_checkin_at'), 'engagements', ['next_checkin_at'])
    op.create_index(op.f('ix_engagements_phone_digest'), 'engagements', ['phone_digest'])
    op.create_index('ix_engagements_referral', 'engagements', ['referral_id'])
    op.create_table('messages',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('agency_id', sa.String(length=64), nullable=False),
    sa.Column('referral_id', sa.String(length=64), nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('detail', sa.String(length=120), nullable=True),
    sa.Column('sent_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_messages_referral', 'messages', ['agency_id', 'referral_id', 'sent_at'])
    op.create_table('on_call',
    sa.Column('agency_id', sa.String(length=64), nullable=False),
    sa.Column('ladder', sa.Text(), nullable=False),
    sa.Column('sender_name', sa.String(length=80), nullable=True),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('agency_id')
    )


def downgrade() -> None:
    # Dropping a table drops its indexes.
    op.drop_table('on_call')
    op.drop_table('messages')
    op.drop_table('engagements')
    op.drop_table('crises')
    op.drop_table('contacts')
    op.drop_table('checkin_answers')
    op.drop_table('assessments')
    drop_creations_table_v1(op)
    drop_kit_tables_v1(op)
