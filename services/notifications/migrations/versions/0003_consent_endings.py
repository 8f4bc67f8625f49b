"""Consent endings, so a handoff heard after its consent's end still tells the agency."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from services.kit.db import UTCDateTime

revision = '0003'
down_revision = '0002'


def upgrade() -> None:
    op.create_table('consent_endings',
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('participant_id', sa.String(length=64), nullable=False),
    sa.Column('occurred_at', UTCDateTime(), nullable=False),
    sa.Column('event', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('event_id'),
    )
    op.create_index(op.f('ix_consent_endings_participant_id'), 'consent_endings', ['participant_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_consent_endings_participant_id'), table_name='consent_endings')
    op.drop_table('consent_endings')
