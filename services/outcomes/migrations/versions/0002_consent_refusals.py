"""Referrals consent refused as they were made (``referral.refused``), by reason: a read-model
table of their own, filled as the events arrive (earlier logs hold none: the event is new)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from services.kit.db import UTCDateTime

revision = '0002'
down_revision = '0001'


def upgrade() -> None:
    op.create_table('consent_refusals',
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('participant_ref', sa.String(length=32), nullable=True),
    sa.Column('refused_at', UTCDateTime(), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('referrer_agency_id', sa.String(length=64), nullable=True),
    sa.Column('urgency', sa.String(length=16), nullable=True),
    sa.Column('language', sa.String(length=16), nullable=True),
    sa.PrimaryKeyConstraint('event_id'),
    )


def downgrade() -> None:
    op.drop_table('consent_refusals')
